"""``bastion usage`` and ``bastion audit``: usage and cost, the audit trail, its export and verification."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from libs.cli.http import client, params, show


def cmd_usage_list(args: argparse.Namespace) -> int:
    """Usage records."""
    with client() as http:
        return show(
            http.get(
                "/v1/usage/", params=params(args, "limit", "key_id", "request_id", "correlation_id", "since", "until")
            )
        )


def cmd_usage_summary(args: argparse.Namespace) -> int:
    """Usage grouped."""
    with client() as http:
        return show(http.get("/v1/usage/summary", params=params(args, "group_by", "since", "until")))


def cmd_usage_export(args: argparse.Namespace) -> int:
    """Usage export as CSV or JSON on stdout."""
    with client() as http:
        response = http.get("/v1/usage/export", params=params(args, "group_by", "format", "since", "until"))
        if response.status_code >= 400:
            return show(response)
        sys.stdout.write(response.text)
        return 0


_AUDIT_FILTERS = ("since", "until", "actor_type", "user_id", "action", "resource_type", "resource_id", "success")


def cmd_audit_list(args: argparse.Namespace) -> int:
    """Audit records."""
    with client() as http:
        return show(http.get("/v1/audit/", params=params(args, "limit", "cursor", "request_id", "correlation_id",
                                                           *_AUDIT_FILTERS)))  # fmt: skip


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Audit records as JSON lines or CSV on stdout, streamed."""
    with client() as http, http.stream("GET", "/v1/audit/export", params=params(args, "format", *_AUDIT_FILTERS),
                                        timeout=None) as response:  # fmt: skip
        if response.status_code >= 400:
            response.read()
            return show(response)
        for chunk in response.iter_bytes():
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Verify the organisation's chain; progress on stderr, the report on stdout; exit 1 if broken."""
    with client() as http, http.stream("GET", "/v1/audit/verify", params={"progress": "true"},
                                        timeout=None) as response:  # fmt: skip
        if response.status_code >= 400:
            response.read()
            return show(response)
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


def add_parsers(groups: Any) -> None:
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
