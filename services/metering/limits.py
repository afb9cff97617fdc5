"""Limit decisions: worst-case cost estimates and one atomic check in Postgres (metering.check_limits).

Requests per minute: one row per key and fixed minute, incremented only while below the limit
(``INSERT … ON CONFLICT DO UPDATE … WHERE count < limit``): exact across every edge process and
metering replica, because the row lock serializes them. USD budget: ``reserved + spent + cost``
must stay within the limit; the reservation is the request's worst case (prompt estimate plus
``max_tokens`` — or a configured default — at the model's prices) and is replaced by the real
cost when the usage event arrives. Spend can exceed the limit only if the real cost exceeds the
reservation (an upstream ignoring ``max_tokens``): the documented tolerance is the reservations
in flight.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg

from libs import pricing
from libs.contracts.errors import Code
from libs.contracts.messages import LeaseGrant, LeaseRequest, LimitCheck, LimitDenied, LimitOk
from libs.pricing import DEFAULT_MAX_TOKENS, Price

RESERVATION_TTL = timedelta(minutes=10)


def worst_case_micros(price: Price | None, check: LimitCheck, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> int:
    """What this request can cost at most (0 for an unpriced model: nothing to hold)."""
    return pricing.worst_case_micros(price, check.prompt_chars, check.max_tokens, default_max_tokens, check.n)


def unpriced(req: LimitCheck) -> LimitDenied:
    """A USD-limited key asked for a model with no price (not in the table, and its provider has
    no default price): its cost could not be held, so it is refused."""
    return LimitDenied(
        code=Code.MODEL_UNPRICED,
        reason=f"The model `{req.model[:128]}` has no price, and this API key has a USD usage limit "
        "(rule: usage_limit_usd): an admin can set a default price for its provider.",
    )


def _window(now: float) -> tuple[datetime, int]:
    start = int(now // 60 * 60)
    return datetime.fromtimestamp(start, tz=UTC), max(1, start + 60 - int(now))


async def check(pool: asyncpg.Pool, req: LimitCheck, reserve_micros: int) -> LimitOk | LimitDenied:
    """Count the request and hold its worst-case cost, atomically, in one round trip; or say why not."""
    now = time.time()
    window, reset_s = _window(now)
    usd = req.usd_limit_micros
    row = await pool.fetchrow(
        "SELECT outcome, used FROM metering.check_limits($1, $2, $3, $4, $5, $6, $7, $8)",
        req.org_id, req.key_id, req.request_id, req.rpm_limit, window, usd, reserve_micros,
        datetime.now(UTC) + RESERVATION_TTL,
    )  # fmt: skip
    outcome, used = row["outcome"], int(row["used"])
    remaining = None if req.rpm_limit is None else req.rpm_limit - used
    if outcome == "rate_limited":
        return LimitDenied(
            code=Code.RATE_LIMITED, reason=f"Rate limit reached: {req.rpm_limit} requests per minute.",
            retry_after_s=reset_s, rpm_limit=req.rpm_limit, remaining=0, reset_s=reset_s,
        )  # fmt: skip
    if outcome == "budget":
        return LimitDenied(
            code=Code.LIMIT_EXCEEDED,
            reason=f"This API key has reached its usage limit of ${(usd or 0) / 1_000_000:.2f} (rule: usage_limit_usd).",
            rpm_limit=req.rpm_limit, remaining=remaining, reset_s=reset_s,
        )  # fmt: skip
    return LimitOk(rpm_limit=req.rpm_limit, remaining=remaining, reset_s=reset_s, reserved_micros=reserve_micros)


async def settle(conn: asyncpg.Connection, request_id: str, key_id: str, actual_micros: int) -> None:
    """Replace a request's reservation by its real cost (inside the usage event's transaction)."""
    held = await conn.fetchval("DELETE FROM metering.reservations WHERE request_id = $1 RETURNING amount", request_id)
    await conn.execute(
        "UPDATE metering.budgets SET spent_micros = spent_micros + $2,"
        " reserved_micros = greatest(0, reserved_micros - $3), updated_at = now() WHERE key_id = $1",
        key_id, actual_micros, held or 0,
    )  # fmt: skip


LEASE_VALID_MS = 1000
"""How long an edge may admit from a lease before giving it back (bounds both how long unused
admissions sit in an idle process and how long a lease outlives a metering outage)."""


async def grant(
    pool: asyncpg.Pool, req: LeaseRequest, price: Price | None, default_max_tokens: int
) -> LeaseGrant | LimitDenied:
    """Take back ``req``'s returned lease and grant a new block, atomically, in one round trip."""
    now = time.time()
    window, reset_s = _window(now)
    returned = datetime.fromtimestamp(req.return_window, tz=UTC) if req.return_window else None
    row = await pool.fetchrow(
        "SELECT outcome, units, used, micros FROM metering.grant_lease("
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        req.org_id, req.key_id, req.lease_id, window, req.rpm_limit, req.want_units, req.usd_limit_micros,
        req.want_micros, req.need_micros, datetime.now(UTC) + RESERVATION_TTL, req.return_lease_id or None,
        returned, req.return_units, req.return_micros,
    )  # fmt: skip
    outcome, used = row["outcome"], int(row["used"])
    remaining = None if req.rpm_limit is None else max(0, req.rpm_limit - used)
    if outcome == "rate_limited":
        return LimitDenied(
            code=Code.RATE_LIMITED, reason=f"Rate limit reached: {req.rpm_limit} requests per minute.",
            retry_after_s=reset_s, rpm_limit=req.rpm_limit, remaining=0, reset_s=reset_s,
        )  # fmt: skip
    if outcome == "budget":
        usd = req.usd_limit_micros or 0
        return LimitDenied(
            code=Code.LIMIT_EXCEEDED,
            reason=f"This API key has reached its usage limit of ${usd / 1_000_000:.2f} (rule: usage_limit_usd).",
            rpm_limit=req.rpm_limit, remaining=remaining, reset_s=reset_s,
        )  # fmt: skip
    return LeaseGrant(
        lease_id=req.lease_id, window=int(window.timestamp()), units=int(row["units"]), micros=int(row["micros"]),
        rpm_limit=req.rpm_limit, remaining=remaining, reset_s=reset_s, priced=price is not None,
        price_input=price.input if price else 0, price_output=price.output if price else 0,
        price_cached=price.cached_input if price else 0, default_max_tokens=default_max_tokens,
        valid_ms=LEASE_VALID_MS,
    )  # fmt: skip


async def settle_leased(conn: asyncpg.Connection, key_id: str, lease_id: str, held_micros: int) -> None:
    """Take a leased request's hold off its lease (inside the usage event's transaction)."""
    if lease_id and held_micros > 0:
        await conn.execute("SELECT metering.settle_leased($1, $2, $3)", key_id, lease_id, held_micros)
