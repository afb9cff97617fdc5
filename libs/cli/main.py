"""``bastion``: the command-line tool for the management API (and the guardrail batch scanner)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

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
        return _show(http.get("/v1/usage/", params=_params(args, "limit", "key_id", "request_id", "since", "until")))


def cmd_usage_summary(args: argparse.Namespace) -> int:
    """Usage grouped."""
    with _client() as http:
        return _show(http.get("/v1/usage/summary", params=_params(args, "group_by", "since", "until")))


def cmd_audit_list(args: argparse.Namespace) -> int:
    """Audit events."""
    with _client() as http:
        return _show(http.get("/v1/audit/", params=_params(args, "limit", "request_id", "action")))


def cmd_guard_scan(_: argparse.Namespace) -> int:
    """JSON lines in, one JSON line of findings out per input."""
    from services.guardrails.scan import main as scan_main

    return scan_main(sys.stdin, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    """The argument tree."""
    parser = argparse.ArgumentParser(prog="bastion", description="Bastion management CLI")
    groups = parser.add_subparsers(dest="group", required=True)

    usage = groups.add_parser("usage", help="usage and cost").add_subparsers(dest="command", required=True)
    ul = usage.add_parser("list", help="usage records, newest first")
    ul.add_argument("--limit", type=int)
    ul.add_argument("--key-id", dest="key_id")
    ul.add_argument("--request-id", dest="request_id")
    ul.add_argument("--since")
    ul.add_argument("--until")
    ul.set_defaults(func=cmd_usage_list)
    us = usage.add_parser("summary", help="usage grouped by key, project, model or day")
    us.add_argument("--group-by", dest="group_by", default="model", choices=["key", "project", "model", "day"])
    us.add_argument("--since")
    us.add_argument("--until")
    us.set_defaults(func=cmd_usage_summary)

    audit = groups.add_parser("audit", help="audit trail").add_subparsers(dest="command", required=True)
    al = audit.add_parser("list", help="audit events, newest first")
    al.add_argument("--limit", type=int)
    al.add_argument("--request-id", dest="request_id")
    al.add_argument("--action")
    al.set_defaults(func=cmd_audit_list)

    guard = groups.add_parser("guard", help="guardrails").add_subparsers(dest="command", required=True)
    gs = guard.add_parser("scan", help='read {"id","text"} JSON lines on stdin, write findings per line')
    gs.set_defaults(func=cmd_guard_scan)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bastion`` command."""
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
