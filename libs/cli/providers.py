"""``bastion providers`` and ``bastion aliases``: upstream providers, their sealed keys and prices, model aliases."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from libs.cli.http import client, comma_list, show


def cmd_providers(args: argparse.Namespace) -> int:
    """Upstream providers; keys are read from stdin or an environment variable, never from argv."""

    with client() as http:
        if args.command == "list":
            return show(http.get("/v1/providers/"))
        if args.command == "delete":
            response = http.delete(f"/v1/providers/{args.provider_id}")
            return 0 if response.status_code == 204 else show(response)
        if args.command == "test":
            return _test_provider(http, args.provider)
        if args.command == "price":
            return _provider_price(http, args)
        key = os.environ.get(args.key_env, "") if args.key_env else sys.stdin.readline().strip()
        if args.command == "rotate":
            return show(http.post(f"/v1/providers/{args.provider_id}/rotate", json={"api_key": key}))
        body: dict[str, Any] = {"name": args.name, "adapter": args.adapter, "base_url": args.base_url,
                                "models": comma_list(args.models) or []}  # fmt: skip
        if key:
            body["api_key"] = key
        return show(http.post("/v1/providers/", json=body))


def cmd_aliases(args: argparse.Namespace) -> int:
    """Per-project model aliases."""
    from urllib.parse import quote

    base = f"/v1/projects/{quote(args.project_id, safe='')}/aliases"
    with client() as http:
        if args.command == "list":
            return show(http.get(base))
        if args.command == "set":
            return show(http.put(f"{base}/{quote(args.alias, safe='')}", json={"target": args.target}))
        response = http.delete(f"{base}/{quote(args.alias, safe='')}")
        return 0 if response.status_code == 204 else show(response)


def _provider_price(http: Any, args: argparse.Namespace) -> int:
    """Set (``--input``/``--output`` [``--cached-input``], USD per million tokens) or ``--clear``
    a provider's default price."""
    from urllib.parse import quote

    path = f"/v1/providers/{quote(args.provider_id, safe='')}/price"
    if args.clear:
        return show(http.delete(path))
    if args.input is None or args.output is None:
        print(json.dumps({"detail": "give --input and --output (USD per million tokens), or --clear"}), file=sys.stderr)
        return 2
    body: dict[str, Any] = {"input": args.input, "output": args.output}
    if args.cached_input is not None:
        body["cached_input"] = args.cached_input
    return show(http.put(path, json=body))


def _test_provider(http: Any, name_or_id: str) -> int:
    """Test a provider named by id or name; exit status 0 only if the upstream accepted the call."""
    from urllib.parse import quote

    listing = http.get("/v1/providers/")
    if listing.status_code >= 400:
        return show(listing)
    match = [p["id"] for p in listing.json()["data"] if name_or_id in (p["id"], p["name"])]
    if not match:
        print(json.dumps({"detail": f"no provider named or with id {name_or_id!r}"}), file=sys.stderr)
        return 1
    response = http.post(f"/v1/providers/{quote(match[0], safe='')}/test")
    status = show(response)
    return status if status else (0 if response.json().get("ok") else 1)


def add_providers(groups: Any) -> None:
    providers = groups.add_parser("providers", help="upstream providers and their keys")
    sub = providers.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    add = sub.add_parser("add", help="the key is read from stdin (or --key-env NAME), never from the command line")
    add.add_argument("name")
    add.add_argument("--adapter", required=True, choices=["openai", "anthropic", "gemini", "openai_compatible"])
    add.add_argument("--base-url", dest="base_url", required=True)
    add.add_argument("--models", help="comma-separated model names this provider serves")
    add.add_argument("--key-env", dest="key_env", help="read the key from this environment variable")
    rot = sub.add_parser("rotate", help="new key from stdin (or --key-env NAME)")
    rot.add_argument("provider_id")
    rot.add_argument("--key-env", dest="key_env")
    sub.add_parser("delete").add_argument("provider_id")
    test = sub.add_parser("test", help="one cheap upstream call with the stored key (exit 1 unless it is accepted)")
    test.add_argument("provider", metavar="NAME_OR_ID")
    price = sub.add_parser("price", help="default price (USD per million tokens) for models the price table lacks")
    price.add_argument("provider_id")
    price.add_argument("--input", type=float)
    price.add_argument("--output", type=float)
    price.add_argument("--cached-input", dest="cached_input", type=float)
    price.add_argument("--clear", action="store_true", help="remove the default price")
    providers.set_defaults(func=cmd_providers)


def add_aliases(groups: Any) -> None:
    aliases = groups.add_parser("aliases", help="per-project model aliases")
    sub = aliases.add_subparsers(dest="command", required=True)
    sub.add_parser("list").add_argument("project_id")
    put = sub.add_parser("set", help="create or repoint: ALIAS → TARGET (a model, or provider/model)")
    put.add_argument("project_id")
    put.add_argument("alias")
    put.add_argument("target")
    rm = sub.add_parser("delete")
    rm.add_argument("project_id")
    rm.add_argument("alias")
    aliases.set_defaults(func=cmd_aliases)
