"""``bastion``: the command-line tool for the management API (and the guardrail batch scanner)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from libs.backup import cli as backup_cli
from libs.cli import providers, reporting
from libs.cli.http import client, comma_list, params, show


def _key_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if getattr(args, "name", None) is not None:
        body["name"] = args.name
    for field in ("usage_limit_usd", "rate_limit_rpm", "expires_at"):
        value = getattr(args, field, None)
        if value is not None:
            body[field] = None if value in ("none", "null") else value
    for field in ("allowed_models", "allowed_ips"):
        value = comma_list(getattr(args, field, None))
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
    with client() as http:
        if args.command == "list":
            return show(http.get("/v1/keys/", params=params(args, "limit", "project_id")))
        if args.command == "get":
            return show(http.get(f"/v1/keys/{args.key_id}"))
        if args.command == "create":
            return show(http.post("/v1/keys/", json={"project_id": args.project_id, **_key_body(args)}))
        if args.command == "update":
            return show(http.patch(f"/v1/keys/{args.key_id}", json=_key_body(args)))
        if args.command == "rotate":
            return show(http.post(f"/v1/keys/{args.key_id}/rotate", json={"grace_seconds": args.grace_seconds}))
        return show(http.post(f"/v1/keys/{args.key_id}/revoke"))


def cmd_projects(args: argparse.Namespace) -> int:
    """Projects."""
    with client() as http:
        if args.command == "list":
            return show(http.get("/v1/projects/"))
        if args.command == "get":
            return show(http.get(f"/v1/projects/{args.project_id}"))
        if args.command == "create":
            return show(http.post("/v1/projects/", json={"name": args.name}))
        return show(http.patch(f"/v1/projects/{args.project_id}", json={"name": args.name}))


def cmd_tokens(args: argparse.Namespace) -> int:
    """Management tokens."""
    with client() as http:
        if args.command == "list":
            return show(http.get("/v1/tokens/"))
        if args.command == "create":
            return show(http.post("/v1/tokens/", json={"role": args.role, "name": args.name or ""}))
        return show(http.post(f"/v1/tokens/{args.token_id}/revoke"))


def cmd_members(args: argparse.Namespace) -> int:
    """Organisation members."""
    with client() as http:
        if args.command == "list":
            return show(http.get("/v1/members/"))
        if args.command == "add":
            return show(http.post("/v1/members/", json={"email": args.email, "role": args.role}))
        return show(http.delete(f"/v1/members/{args.user_id}"))


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


def cmd_guard(args: argparse.Namespace) -> int:
    """Guardrail rules and dry runs."""
    with client() as http:
        if args.command == "rules":
            return show(http.get("/v1/guardrails/rules", params=params(args, "project_id")))
        if args.command == "add":
            body: dict[str, Any] = {"kind": args.kind, "action": args.action, "monitor": args.monitor,
                                    "direction": args.direction, "config": json.loads(args.config)}  # fmt: skip
            if args.project_id:
                body["project_id"] = args.project_id
            return show(http.post("/v1/guardrails/rules", json=body))
        if args.command == "delete":
            response = http.delete(f"/v1/guardrails/rules/{args.rule_id}")
            return 0 if response.status_code == 204 else show(response)
        if args.command == "violations":
            return show(http.get("/v1/guardrails/violations", params=params(args, "request_id")))
        return show(http.post("/v1/guardrails/test", json={"project_id": args.project_id, "texts": args.text,
                                                            "direction": args.direction}))  # fmt: skip


def cmd_guard_scan(_: argparse.Namespace) -> int:
    """JSON lines in, one JSON line of findings out per input."""
    from services.guardrails.scan import main as scan_main

    return scan_main(sys.stdin, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    """The argument tree."""
    parser = argparse.ArgumentParser(prog="bastion", description="Bastion management CLI")
    groups = parser.add_subparsers(dest="group", required=True)
    reporting.add_parsers(groups)
    _add_management(groups)
    providers.add_providers(groups)
    providers.add_aliases(groups)
    _add_guard(groups)
    backup_cli.add_parser(groups)  # operator: on the stack's files, not through the management API
    return parser


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
