"""``bastion``: the command-line tool for the management API (and the guardrail batch scanner)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from libs.backup import cli as backup_cli
from libs.cli.config import load


def _client() -> Any:
    import httpx

    config = load()
    if not config.admin_token:
        sys.exit("no management token: set BASTION_ADMIN_TOKEN or run `make run` to create var/demo.env")
    return httpx.Client(
        base_url=config.admin_url, headers={"authorization": f"Bearer {config.admin_token}"}, timeout=30
    )


def _show(response: Any) -> int:
    try:
        body = response.json()
    except ValueError:
        body = {"status": response.status_code, "detail": response.text[:500]}
    print(json.dumps(body, indent=2, default=str))
    return 0 if response.status_code < 400 else 1


def _params(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def cmd_usage_list(args: argparse.Namespace) -> int:
    """Usage records."""
    with _client() as http:
        return _show(
            http.get(
                "/v1/usage/", params=_params(args, "limit", "key_id", "request_id", "correlation_id", "since", "until")
            )
        )


def cmd_usage_summary(args: argparse.Namespace) -> int:
    """Usage grouped."""
    with _client() as http:
        return _show(http.get("/v1/usage/summary", params=_params(args, "group_by", "since", "until")))


def cmd_usage_export(args: argparse.Namespace) -> int:
    """Usage export as CSV or JSON on stdout."""
    with _client() as http:
        response = http.get("/v1/usage/export", params=_params(args, "group_by", "format", "since", "until"))
        if response.status_code >= 400:
            return _show(response)
        sys.stdout.write(response.text)
        return 0


_AUDIT_FILTERS = ("since", "until", "actor_type", "user_id", "action", "resource_type", "resource_id", "success")


def cmd_audit_list(args: argparse.Namespace) -> int:
    """Audit records."""
    with _client() as http:
        return _show(http.get("/v1/audit/", params=_params(args, "limit", "cursor", "request_id", "correlation_id",
                                                           *_AUDIT_FILTERS)))  # fmt: skip


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Audit records as JSON lines or CSV on stdout, streamed."""
    with _client() as http, http.stream("GET", "/v1/audit/export", params=_params(args, "format", *_AUDIT_FILTERS),
                                        timeout=None) as response:  # fmt: skip
        if response.status_code >= 400:
            response.read()
            return _show(response)
        for chunk in response.iter_bytes():
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Verify the organisation's chain; progress on stderr, the report on stdout; exit 1 if broken."""
    with _client() as http, http.stream("GET", "/v1/audit/verify", params={"progress": "true"},
                                        timeout=None) as response:  # fmt: skip
        if response.status_code >= 400:
            response.read()
            return _show(response)
        report: dict[str, Any] = {}
        for line in response.iter_lines():
            if not line.strip():
                continue
            step = json.loads(line)
            if "checked" in step and "ok" not in step:
                print(f"checked {step['checked']} records …", file=sys.stderr)
            else:
                report = step
    print(json.dumps(report, indent=2))
    if not report.get("ok"):
        print(f"chain broken at sequence number {report.get('first_bad_seq')}: {report.get('reason')}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _audit_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="ISO 8601 time (inclusive)")
    parser.add_argument("--until", help="ISO 8601 time (exclusive)")
    parser.add_argument("--actor-type", dest="actor_type", choices=["person", "api_key", "management_token", "system"])
    parser.add_argument("--user-id", dest="user_id", help="the acting person, key or token id")
    parser.add_argument("--action", help="exact, or a family: api_key.*")
    parser.add_argument("--resource-type", dest="resource_type")
    parser.add_argument("--resource-id", dest="resource_id")
    parser.add_argument("--success", choices=["true", "false"])


def _json_arg(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _key_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if getattr(args, "name", None) is not None:
        body["name"] = args.name
    for field in ("usage_limit_usd", "rate_limit_rpm", "expires_at"):
        value = getattr(args, field, None)
        if value is not None:
            body[field] = None if value in ("none", "null") else value
    for field in ("allowed_models", "allowed_ips"):
        value = _json_arg(getattr(args, field, None))
        if value is not None:
            body[field] = value
    for field in ("usage_limit_usd",):
        if isinstance(body.get(field), str):
            body[field] = float(body[field])
    if isinstance(body.get("rate_limit_rpm"), str):
        body["rate_limit_rpm"] = int(body["rate_limit_rpm"])
    return body


def cmd_keys(args: argparse.Namespace) -> int:
    """API keys."""
    with _client() as http:
        if args.command == "list":
            return _show(http.get("/v1/keys/", params=_params(args, "limit", "project_id")))
        if args.command == "get":
            return _show(http.get(f"/v1/keys/{args.key_id}"))
        if args.command == "create":
            return _show(http.post("/v1/keys/", json={"project_id": args.project_id, **_key_body(args)}))
        if args.command == "update":
            return _show(http.patch(f"/v1/keys/{args.key_id}", json=_key_body(args)))
        if args.command == "rotate":
            return _show(http.post(f"/v1/keys/{args.key_id}/rotate", json={"grace_seconds": args.grace_seconds}))
        return _show(http.post(f"/v1/keys/{args.key_id}/revoke"))


def cmd_projects(args: argparse.Namespace) -> int:
    """Projects."""
    with _client() as http:
        if args.command == "list":
            return _show(http.get("/v1/projects/"))
        if args.command == "get":
            return _show(http.get(f"/v1/projects/{args.project_id}"))
        if args.command == "create":
            return _show(http.post("/v1/projects/", json={"name": args.name}))
        return _show(http.patch(f"/v1/projects/{args.project_id}", json={"name": args.name}))


def cmd_tokens(args: argparse.Namespace) -> int:
    """Management tokens."""
    with _client() as http:
        if args.command == "list":
            return _show(http.get("/v1/tokens/"))
        if args.command == "create":
            return _show(http.post("/v1/tokens/", json={"role": args.role, "name": args.name or ""}))
        return _show(http.post(f"/v1/tokens/{args.token_id}/revoke"))


def cmd_members(args: argparse.Namespace) -> int:
    """Organisation members."""
    with _client() as http:
        if args.command == "list":
            return _show(http.get("/v1/members/"))
        if args.command == "add":
            return _show(http.post("/v1/members/", json={"email": args.email, "role": args.role}))
        return _show(http.delete(f"/v1/members/{args.user_id}"))


def _key_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name")
    p.add_argument("--usage-limit-usd", dest="usage_limit_usd", help="USD limit, or 'none'")
    p.add_argument("--rate-limit-rpm", dest="rate_limit_rpm", help="requests per minute, or 'none'")
    p.add_argument("--allowed-models", dest="allowed_models", help="comma-separated globs ('' = all)")
    p.add_argument("--allowed-ips", dest="allowed_ips", help="comma-separated CIDRs ('' = all)")
    p.add_argument("--expires-at", dest="expires_at", help="ISO 8601 time, or 'none'")


def _add_management(groups: Any) -> None:
    keys = groups.add_parser("keys", help="API keys").add_subparsers(dest="command", required=True)
    kl = keys.add_parser("list")
    kl.add_argument("--project-id", dest="project_id")
    kl.add_argument("--limit", type=int)
    keys.add_parser("get").add_argument("key_id")
    kc = keys.add_parser("create", help="prints the full key once")
    kc.add_argument("--project-id", dest="project_id", required=True)
    _key_options(kc)
    ku = keys.add_parser("update")
    ku.add_argument("key_id")
    _key_options(ku)
    kr = keys.add_parser("rotate", help="new secret; the old one stops working now")
    kr.add_argument("key_id")
    kr.add_argument("--grace-seconds", dest="grace_seconds", type=int, default=0)
    keys.add_parser("revoke").add_argument("key_id")
    groups.choices["keys"].set_defaults(func=cmd_keys)

    projects = groups.add_parser("projects", help="projects").add_subparsers(dest="command", required=True)
    projects.add_parser("list")
    projects.add_parser("get").add_argument("project_id")
    projects.add_parser("create").add_argument("name")
    pr = projects.add_parser("rename")
    pr.add_argument("project_id")
    pr.add_argument("name")
    groups.choices["projects"].set_defaults(func=cmd_projects)

    tokens = groups.add_parser("tokens", help="management tokens").add_subparsers(dest="command", required=True)
    tokens.add_parser("list")
    tc = tokens.add_parser("create")
    tc.add_argument("--role", required=True, choices=["owner", "admin", "developer", "viewer"])
    tc.add_argument("--name")
    tokens.add_parser("revoke").add_argument("token_id")
    groups.choices["tokens"].set_defaults(func=cmd_tokens)

    members = groups.add_parser("members", help="organisation members").add_subparsers(dest="command", required=True)
    members.add_parser("list")
    ma = members.add_parser("add")
    ma.add_argument("email")
    ma.add_argument("--role", required=True, choices=["owner", "admin", "developer", "viewer"])
    members.add_parser("remove").add_argument("user_id")
    groups.choices["members"].set_defaults(func=cmd_members)


def cmd_providers(args: argparse.Namespace) -> int:
    """Upstream providers; keys are read from stdin or an environment variable, never from argv."""
    import os

    with _client() as http:
        if args.command == "list":
            return _show(http.get("/v1/providers/"))
        if args.command == "delete":
            response = http.delete(f"/v1/providers/{args.provider_id}")
            return 0 if response.status_code == 204 else _show(response)
        if args.command == "test":
            return _test_provider(http, args.provider)
        if args.command == "price":
            return _provider_price(http, args)
        key = os.environ.get(args.key_env, "") if args.key_env else sys.stdin.readline().strip()
        if args.command == "rotate":
            return _show(http.post(f"/v1/providers/{args.provider_id}/rotate", json={"api_key": key}))
        body: dict[str, Any] = {"name": args.name, "adapter": args.adapter, "base_url": args.base_url,
                                "models": _json_arg(args.models) or []}  # fmt: skip
        if key:
            body["api_key"] = key
        return _show(http.post("/v1/providers/", json=body))


def cmd_aliases(args: argparse.Namespace) -> int:
    """Per-project model aliases."""
    from urllib.parse import quote

    base = f"/v1/projects/{quote(args.project_id, safe='')}/aliases"
    with _client() as http:
        if args.command == "list":
            return _show(http.get(base))
        if args.command == "set":
            return _show(http.put(f"{base}/{quote(args.alias, safe='')}", json={"target": args.target}))
        response = http.delete(f"{base}/{quote(args.alias, safe='')}")
        return 0 if response.status_code == 204 else _show(response)


def _provider_price(http: Any, args: argparse.Namespace) -> int:
    """Set (``--input``/``--output`` [``--cached-input``], USD per million tokens) or ``--clear``
    a provider's default price."""
    from urllib.parse import quote

    path = f"/v1/providers/{quote(args.provider_id, safe='')}/price"
    if args.clear:
        return _show(http.delete(path))
    if args.input is None or args.output is None:
        print(json.dumps({"detail": "give --input and --output (USD per million tokens), or --clear"}), file=sys.stderr)
        return 2
    body: dict[str, Any] = {"input": args.input, "output": args.output}
    if args.cached_input is not None:
        body["cached_input"] = args.cached_input
    return _show(http.put(path, json=body))


def _test_provider(http: Any, name_or_id: str) -> int:
    """Test a provider named by id or name; exit status 0 only if the upstream accepted the call."""
    from urllib.parse import quote

    listing = http.get("/v1/providers/")
    if listing.status_code >= 400:
        return _show(listing)
    match = [p["id"] for p in listing.json()["data"] if name_or_id in (p["id"], p["name"])]
    if not match:
        print(json.dumps({"detail": f"no provider named or with id {name_or_id!r}"}), file=sys.stderr)
        return 1
    response = http.post(f"/v1/providers/{quote(match[0], safe='')}/test")
    status = _show(response)
    return status if status else (0 if response.json().get("ok") else 1)


def cmd_guard(args: argparse.Namespace) -> int:
    """Guardrail rules and dry runs."""
    with _client() as http:
        if args.command == "rules":
            return _show(http.get("/v1/guardrails/rules", params=_params(args, "project_id")))
        if args.command == "add":
            body: dict[str, Any] = {"kind": args.kind, "action": args.action, "monitor": args.monitor,
                                    "direction": args.direction, "config": json.loads(args.config)}  # fmt: skip
            if args.project_id:
                body["project_id"] = args.project_id
            return _show(http.post("/v1/guardrails/rules", json=body))
        if args.command == "delete":
            response = http.delete(f"/v1/guardrails/rules/{args.rule_id}")
            return 0 if response.status_code == 204 else _show(response)
        if args.command == "violations":
            return _show(http.get("/v1/guardrails/violations", params=_params(args, "request_id")))
        return _show(http.post("/v1/guardrails/test", json={"project_id": args.project_id, "texts": args.text,
                                                            "direction": args.direction}))  # fmt: skip


def cmd_guard_scan(_: argparse.Namespace) -> int:
    """JSON lines in, one JSON line of findings out per input."""
    from services.guardrails.scan import main as scan_main

    return scan_main(sys.stdin, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    """The argument tree."""
    parser = argparse.ArgumentParser(prog="bastion", description="Bastion management CLI")
    groups = parser.add_subparsers(dest="group", required=True)
    _add_reporting(groups)
    _add_management(groups)
    _add_providers(groups)
    _add_aliases(groups)
    _add_guard(groups)
    backup_cli.add_parser(groups)  # operator: on the stack's files, not through the management API
    return parser


def _add_reporting(groups: Any) -> None:
    usage = groups.add_parser("usage", help="usage and cost").add_subparsers(dest="command", required=True)
    ul = usage.add_parser("list", help="usage records, newest first")
    ul.add_argument("--limit", type=int)
    ul.add_argument("--key-id", dest="key_id")
    ul.add_argument("--request-id", dest="request_id", help="the gateway's id (x-request-id of the answer)")
    ul.add_argument("--correlation-id", dest="correlation_id", help="the client's own request id")
    ul.add_argument("--since")
    ul.add_argument("--until")
    ul.set_defaults(func=cmd_usage_list)
    us = usage.add_parser("summary", help="usage and cost grouped by key, project, model, day or org")
    us.add_argument("--group-by", dest="group_by", default="model", help="e.g. model, key, day or key,day")
    us.add_argument("--since")
    us.add_argument("--until")
    us.set_defaults(func=cmd_usage_summary)
    ue = usage.add_parser("export", help="usage and cost as CSV or JSON")
    ue.add_argument("--group-by", dest="group_by", default="day,key,model")
    ue.add_argument("--format", default="csv", choices=["csv", "json"])
    ue.add_argument("--since")
    ue.add_argument("--until")
    ue.set_defaults(func=cmd_usage_export)

    audit = groups.add_parser("audit", help="audit trail").add_subparsers(dest="command", required=True)
    al = audit.add_parser("list", help="audit records, newest first")
    al.add_argument("--limit", type=int)
    al.add_argument("--cursor", type=int, help="next_cursor of the previous page")
    al.add_argument("--request-id", dest="request_id", help="the gateway's id (x-request-id of the answer)")
    al.add_argument("--correlation-id", dest="correlation_id", help="the client's own request id")
    _audit_filters(al)
    al.set_defaults(func=cmd_audit_list)
    ae = audit.add_parser("export", help="audit records as JSON lines or CSV (the export is audited)")
    ae.add_argument("--format", default="jsonl", choices=["jsonl", "csv"])
    _audit_filters(ae)
    ae.set_defaults(func=cmd_audit_export)
    av = audit.add_parser("verify", help="verify the organisation's hash chain and signed checkpoints")
    av.set_defaults(func=cmd_audit_verify)


def _add_providers(groups: Any) -> None:
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


def _add_aliases(groups: Any) -> None:
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


def _add_guard(groups: Any) -> None:
    guard = groups.add_parser("guard", help="guardrails").add_subparsers(dest="command", required=True)
    gs = guard.add_parser("scan", help='read {"id","text"} JSON lines on stdin, write findings per line')
    gs.set_defaults(func=cmd_guard_scan)
    gr = guard.add_parser("rules", help="list rules")
    gr.add_argument("--project-id", dest="project_id")
    gr.set_defaults(func=cmd_guard)
    ga = guard.add_parser("add", help="add a rule (org-wide unless --project-id)")
    ga.add_argument("--kind", required=True,
                    choices=["blocked_terms", "regex", "topic_restriction", "pii", "secrets", "injection"])  # fmt: skip
    ga.add_argument("--action", required=True, choices=["block", "warn", "redact"])
    ga.add_argument("--config", default="{}", help='JSON, e.g. \'{"terms": ["x"]}\' or \'{"pattern": "..."}\'')
    ga.add_argument("--project-id", dest="project_id")
    ga.add_argument("--monitor", action="store_true", help="record only, do not act")
    ga.add_argument("--direction", default="both", choices=["input", "output", "both"])
    ga.set_defaults(func=cmd_guard)
    gd = guard.add_parser("delete", help="delete a rule")
    gd.add_argument("rule_id")
    gd.set_defaults(func=cmd_guard)
    gv = guard.add_parser("violations", help="recorded violations")
    gv.add_argument("--request-id", dest="request_id")
    gv.set_defaults(func=cmd_guard)
    gt = guard.add_parser("test", help="what would happen to these texts (records nothing)")
    gt.add_argument("--project-id", dest="project_id", required=True)
    gt.add_argument("--direction", default="input", choices=["input", "output"])
    gt.add_argument("text", nargs="+")
    gt.set_defaults(func=cmd_guard)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bastion`` command."""
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
