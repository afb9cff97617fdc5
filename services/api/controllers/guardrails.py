"""Guardrail rules at organisation and project scope, and a dry-run test of a message."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import (
    Denied,
    GuardCheck,
    GuardReply,
    GuardVerdict,
    RuleCheck,
    RuleCheckReply,
    RulesChanged,
)
from libs.db.ids import new_id
from libs.db.pool import tenant_tx
from libs.svc.bus import Bus, Unavailable
from services.api.auditing import audited
from services.api.deps import Admin, Db
from services.api.pagination import Limit, Seq, page
from services.api.problems import Problem
from services.api.schemas import Body
from services.api.security import require

Kind = Literal["blocked_terms", "regex", "topic_restriction", "pii", "secrets", "injection"]
Action = Literal["block", "warn", "redact"]
Direction = Literal["input", "output", "both"]
_COLUMNS = "id, project_id, name, kind, action, monitor, direction, config, enabled, created_at, updated_at"
_check: Codec[RuleCheckReply] = Codec(RuleCheckReply)
_guard: Codec[GuardReply] = Codec(GuardReply)


class RuleIn(Body):
    """A new rule; ``project_id`` null = organisation-wide."""

    kind: Kind
    action: Action
    name: Annotated[str, msgspec.Meta(max_length=128)] = ""
    project_id: str | None = None
    monitor: bool = False
    direction: Direction = "both"
    config: dict[str, Any] = {}
    enabled: bool = True


class RulePatch(Body):
    """Change a rule (absent fields are left alone)."""

    action: Action | msgspec.UnsetType = msgspec.UNSET
    name: Annotated[str, msgspec.Meta(max_length=128)] | msgspec.UnsetType = msgspec.UNSET
    monitor: bool | msgspec.UnsetType = msgspec.UNSET
    direction: Direction | msgspec.UnsetType = msgspec.UNSET
    config: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class TestIn(Body):
    """What would happen to these texts (or chat messages) under the current rules."""

    project_id: str
    texts: Annotated[list[str], msgspec.Meta(max_length=64)] = []
    direction: Literal["input", "output"] = "input"


async def _ask(request: Request[Any, Any, Any], subject: str, message: Any, codec: Codec[Any]) -> Any:
    bus: Bus = request.app.state.bus
    try:
        return await bus.request("guardrails", subject, message, codec)
    except Unavailable:
        raise Problem(503, "The guardrails service is unavailable; retry shortly.", kind="unavailable") from None


async def _validate(request: Request[Any, Any, Any], kind: str, action: str, config: dict[str, Any]) -> None:
    if len(encode(config)) > 512 * 1024:
        raise Problem(413, "Rule configuration is too large (512 KiB max).")
    reply = await _ask(request, subjects.GUARD_RULE_CHECK,
                       RuleCheck(request_id=secrets.token_hex(8), kind=kind, action=action, config=config), _check)  # fmt: skip
    if isinstance(reply, Denied):
        raise Problem(400, f"Invalid rule: {reply.reason}")


async def _changed(request: Request[Any, Any, Any], org_id: str) -> None:
    bus: Bus = request.app.state.bus
    await bus.nc.publish(subjects.GUARD_RULES_CHANGED, encode(RulesChanged(org_id=org_id)))


async def _project_exists(db: Db, org_id: str, project_id: str) -> None:
    async with tenant_tx(db, org_id) as conn:
        if not await conn.fetchval("SELECT 1 FROM auth.projects WHERE id = $1", project_id):
            raise Problem(404, "No such project.")


class GuardrailController(Controller):
    """``/v1/guardrails``."""

    path = "/v1/guardrails"
    tags = ["guardrails"]

    @get("/rules", operation_id="listRules")
    async def list_rules(self, admin: Admin, db: Db, limit: Limit = 100, cursor: str | None = None,
                         project_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Rules of the organisation (optionally those applying to one project)."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM guard.rules WHERE ($1::text IS NULL OR id > $1)"  # noqa: S608
                " AND ($2::text IS NULL OR project_id IS NULL OR project_id = $2) ORDER BY id LIMIT $3",
                cursor, project_id, limit + 1,
            )  # fmt: skip
        return page(rows, limit)

    @get("/rules/{rule_id:str}", operation_id="getRule")
    async def get_rule(self, admin: Admin, db: Db, rule_id: str) -> dict[str, Any]:
        """One rule."""
        async with tenant_tx(db, admin.org_id) as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM guard.rules WHERE id = $1", rule_id)  # noqa: S608
        if row is None:
            raise Problem(404, "No such rule.")
        return dict(row)

    @post("/rules", operation_id="createRule", status_code=201)
    async def create_rule(self, request: Request[Any, Any, Any], admin: Admin, db: Db, data: RuleIn) -> dict[str, Any]:
        """Create a rule; regexes are compiled by the guardrails service first (unsafe ones refused)."""
        rule_id = new_id("rul")
        async with audited(request, admin, "guardrail_rule.created", f"rule:{rule_id}") as detail:
            detail["kind"] = data.kind
            require(admin, "admin")
            if data.project_id is not None:
                await _project_exists(db, admin.org_id, data.project_id)
            await _validate(request, data.kind, data.action, data.config)
            async with tenant_tx(db, admin.org_id) as conn:
                row = await conn.fetchrow(
                    f"INSERT INTO guard.rules (id, org_id, project_id, name, kind, action, monitor, direction, config,"  # noqa: S608
                    f" enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_COLUMNS}",
                    rule_id, admin.org_id, data.project_id, data.name, data.kind, data.action, data.monitor,
                    data.direction, data.config, data.enabled,
                )  # fmt: skip
            await _changed(request, admin.org_id)
        return dict(row)

    @patch("/rules/{rule_id:str}", operation_id="updateRule")
    async def update_rule(self, request: Request[Any, Any, Any], admin: Admin, db: Db, rule_id: str,
                          data: RulePatch) -> dict[str, Any]:  # fmt: skip
        """Change a rule (re-validated)."""
        async with audited(request, admin, "guardrail_rule.updated", f"rule:{rule_id}"):
            require(admin, "admin")
            current = await self.get_rule.fn(self, admin, db, rule_id)
            merged = {**current, **{k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}}
            await _validate(request, merged["kind"], merged["action"], merged["config"])
            async with tenant_tx(db, admin.org_id) as conn:
                row = await conn.fetchrow(
                    f"UPDATE guard.rules SET action = $2, name = $3, monitor = $4, direction = $5, config = $6,"  # noqa: S608
                    f" enabled = $7, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
                    rule_id, merged["action"], merged["name"], merged["monitor"], merged["direction"],
                    merged["config"], merged["enabled"],
                )  # fmt: skip
            await _changed(request, admin.org_id)
        return dict(row)

    @delete("/rules/{rule_id:str}", operation_id="deleteRule", status_code=204)
    async def delete_rule(self, request: Request[Any, Any, Any], admin: Admin, db: Db, rule_id: str) -> None:
        """Delete a rule."""
        async with audited(request, admin, "guardrail_rule.deleted", f"rule:{rule_id}"):
            require(admin, "admin")
            async with tenant_tx(db, admin.org_id) as conn:
                done = await conn.execute("DELETE FROM guard.rules WHERE id = $1", rule_id)
            if not done.endswith(" 1"):
                raise Problem(404, "No such rule.")
            await _changed(request, admin.org_id)

    @post("/test", operation_id="testGuardrails", status_code=200)
    async def test(self, request: Request[Any, Any, Any], admin: Admin, db: Db, data: TestIn) -> dict[str, Any]:
        """Dry run: the verdict, findings and redacted texts, recording nothing."""
        await _project_exists(db, admin.org_id, data.project_id)
        reply = await _ask(request, subjects.GUARD_CHECK, GuardCheck(
            request_id="test_" + secrets.token_hex(8), tenant_id=admin.org_id, project_id=data.project_id,
            key_id="-", texts=data.texts, direction=data.direction, dry_run=True), _guard)  # fmt: skip
        if isinstance(reply, Denied):
            return {"action": "block", "reason": reply.reason, "rule_ids": reply.rule_ids}
        assert isinstance(reply, GuardVerdict)
        return {
            "action": reply.action,
            "findings": [msgspec.structs.asdict(f) for f in reply.findings],
            "texts": reply.texts if reply.texts is not None else data.texts,
            "injection_score": reply.injection_score,
        }

    @get("/violations", operation_id="listViolations")
    async def violations(self, admin: Admin, db: Db, limit: Limit = 100, cursor: Seq = None,
                         request_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Recorded violations (rule, type, action, key, request, content hash), newest first."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
                "SELECT id, ts, project_id, key_id, request_id, rule_id, type, action, monitor, direction, content_hash"
                " FROM guard.violations WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR request_id = $2)"
                " ORDER BY id DESC LIMIT $3",
                cursor, request_id, limit + 1,
            )  # fmt: skip
        return page(rows, limit)
