"""Test doubles shared by unit tests (never used by integration or end-to-end tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from libs.contracts.messages import DeadLetter


@dataclass(frozen=True)
class _Sequence:
    stream: int
    consumer: int


@dataclass(frozen=True)
class _Metadata:
    stream: str
    sequence: _Sequence
    num_delivered: int


@dataclass
class FakeDelivery:
    """A JetStream delivery as nats-py hands it over: subject, data, metadata, and the four
    acknowledgements — each recorded in ``acks``; like the server, a second final one is refused."""

    subject: str
    data: bytes
    seq: int
    num_delivered: int = 1
    stream: str = "USAGE"
    acks: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> _Metadata:
        return _Metadata(self.stream, _Sequence(self.seq, self.seq), self.num_delivered)

    def _final(self, what: str) -> None:
        if any(a in ("ack", "term") or a.startswith("nak") for a in self.acks):
            raise RuntimeError(f"{what} after a final acknowledgement ({self.acks})")
        self.acks.append(what)

    async def ack(self) -> None:
        self._final("ack")

    async def nak(self, delay: float | None = None) -> None:
        self._final("nak" if delay is None else f"nak:{delay:g}")

    async def term(self) -> None:
        self._final("term")

    async def in_progress(self) -> None:
        self.acks.append("progress")


class FakeSource:
    """Hands out the given batches one after the other, then ``[]`` (stopped and drained)."""

    def __init__(self, *batches: list[FakeDelivery]) -> None:
        self._batches = list(batches)

    async def next_batch(self) -> list[Any]:
        return self._batches.pop(0) if self._batches else []

    def held(self) -> list[Any]:
        return [d for batch in self._batches for d in batch]


class Letters:
    """A dead-letter filer that keeps what it is given (or fails while ``failing``)."""

    def __init__(self) -> None:
        self.filed: list[DeadLetter] = []
        self.failing = False

    async def __call__(self, letter: DeadLetter) -> None:
        if self.failing:
            raise ConnectionError("DEADLETTER unreachable")
        self.filed.append(letter)


class FakeSessionStore:
    """In-memory ``services.auth.sessions.Store`` with the SQL functions' semantics
    (``0016_sessions.sql``); ``members`` maps (user, org) to the person's role there."""

    def __init__(self, members: dict[tuple[str, str], str]) -> None:
        from services.auth.session_store import SessionRecord

        self.members = members
        self.rows: dict[str, SessionRecord] = {}  # by lookup
        self.meta: dict[str, tuple[str, str, str]] = {}  # id -> (method, ip, user agent)
        self.touches = 0
        self._record = SessionRecord
        self.now: Any = None  # set by the test's clock
        self.factor_stores: list[Any] = []  # FakePasskeyStore / FakeTotpStore: auth.has_second_factor

    def _with_member(self, rec: Any) -> Any:
        import msgspec

        return msgspec.structs.replace(rec, member_role=self.members.get((rec.user_id, rec.org_id)))

    async def start(self, session_id: str, lookup: str, user_id: str, org_id: str, method: str, ip: str,
                    user_agent: str, expires_at: Any, mfa: bool = False) -> str | None:  # fmt: skip
        role = self.members.get((user_id, org_id))
        if role is None:
            return None
        self.rows[lookup] = self._record(id=session_id, user_id=user_id, org_id=org_id, role=role, member_role=role,
                                         created_at=self.now, last_seen_at=self.now, expires_at=expires_at,
                                         revoked_at=None, mfa_at=self.now if mfa else None)  # fmt: skip
        self.meta[session_id] = (method, ip, user_agent)
        return role

    async def find(self, lookup: str) -> Any:
        rec = self.rows.get(lookup)
        return None if rec is None else self._with_member(rec)

    def _by_id(self, session_id: str) -> tuple[str, Any]:
        return next((k, r) for k, r in self.rows.items() if r.id == session_id)

    async def touch(self, session_id: str) -> None:
        import msgspec

        self.touches += 1
        lookup, rec = self._by_id(session_id)
        self.rows[lookup] = msgspec.structs.replace(rec, last_seen_at=self.now)

    async def renew(self, session_id: str, old_lookup: str, new_lookup: str, role: str, mfa: bool = False) -> bool:
        import msgspec

        rec = self.rows.get(old_lookup)
        if rec is None or rec.id != session_id or rec.revoked_at is not None:
            return False
        del self.rows[old_lookup]
        self.rows[new_lookup] = msgspec.structs.replace(rec, role=role, last_seen_at=self.now,
                                                        mfa_at=self.now if mfa else rec.mfa_at)  # fmt: skip
        return True

    async def revoke(self, user_id: str, session_id: str | None, keep: str | None) -> int:
        import msgspec

        count = 0
        for lookup, rec in list(self.rows.items()):
            if (rec.user_id == user_id and rec.revoked_at is None and rec.expires_at > self.now
                    and session_id in (None, rec.id) and rec.id != keep):  # fmt: skip
                self.rows[lookup] = msgspec.structs.replace(rec, revoked_at=self.now)
                count += 1
        return count

    async def has_factor(self, user_id: str) -> bool:
        return any(s.has_factor(user_id) for s in self.factor_stores)

    async def of_user(self, user_id: str) -> list[Any]:
        from services.auth.session_store import SessionRow

        return [SessionRow(id=r.id, org_id=r.org_id, method=self.meta[r.id][0], ip=self.meta[r.id][1],
                           user_agent=self.meta[r.id][2], created_at=r.created_at, last_seen_at=r.last_seen_at,
                           expires_at=r.expires_at)
                for r in self.rows.values()
                if r.user_id == user_id and r.revoked_at is None and r.expires_at > self.now]  # fmt: skip


class MemoryBusClient:
    """``libs.svc.bus.Bus.request`` over a ``MemoryBus`` (handler tests of the HTTP services)."""

    def __init__(self, memory: Any) -> None:
        self.memory = memory
        self.sent: list[Any] = []

    async def request(self, service: str, subject: str, message: Any, codec: Any, *, timeout_s: Any = None) -> Any:
        from libs.contracts.codec import encode
        from libs.contracts.messages import Fault
        from libs.svc.bus import Unavailable

        self.sent.append(message)
        reply = codec.decode((await self.memory.request(subject, encode(message))).data)
        if isinstance(reply, Fault):
            raise Unavailable(service, reply.code)
        return reply


class AuditSink:
    """``EventPublisher.audit`` collecting events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def audit(self, event: Any, *, source: str) -> None:
        self.events.append((source, event))


class FakePasskeyStore:
    """In-memory ``services.auth.passkeys.Store`` with the SQL functions' semantics."""

    def __init__(self, orgs: dict[str, str]) -> None:
        self.orgs = orgs  # user -> the organisation a sign-in opens
        self.used_challenges: set[str] = set()
        self.rows: dict[str, dict[str, Any]] = {}

    async def use_challenge(self, digest: str, expires_at: Any) -> bool:
        if digest in self.used_challenges:
            return False
        self.used_challenges.add(digest)
        return True

    async def add(self, passkey_id: str, credential_id: bytes, user_id: str, public_key: bytes, sign_count: int,
                  name: str) -> bool:  # fmt: skip
        from datetime import UTC, datetime

        if any(r["credential_id"] == credential_id for r in self.rows.values()):
            return False
        self.rows[passkey_id] = {"id": passkey_id, "credential_id": credential_id, "user_id": user_id,
                                 "public_key": public_key, "sign_count": sign_count, "name": name,
                                 "created_at": datetime.now(UTC), "last_used_at": None}  # fmt: skip
        return True

    async def find(self, credential_id: bytes) -> Any:
        from services.auth.passkey_store import PasskeyRecord

        for r in self.rows.values():
            if r["credential_id"] == credential_id:
                return PasskeyRecord(id=r["id"], user_id=r["user_id"], public_key=r["public_key"],
                                     sign_count=r["sign_count"], org_id=self.orgs.get(r["user_id"]))  # fmt: skip
        return None

    async def used(self, passkey_id: str, old: int, new: int) -> bool:
        from datetime import UTC, datetime

        row = self.rows.get(passkey_id)
        if row is None or row["sign_count"] != old:
            return False
        row["sign_count"], row["last_used_at"] = new, datetime.now(UTC)
        return True

    async def of_user(self, user_id: str) -> list[Any]:
        from services.auth.passkey_store import PasskeyRow

        return [PasskeyRow(id=r["id"], name=r["name"], created_at=r["created_at"], last_used_at=r["last_used_at"],
                           credential_id=r["credential_id"]) for r in self.rows.values() if r["user_id"] == user_id]  # fmt: skip

    def has_factor(self, user_id: str) -> bool:
        return any(r["user_id"] == user_id for r in self.rows.values())

    async def remove(self, user_id: str, passkey_id: str) -> bool:
        row = self.rows.get(passkey_id)
        if row is None or row["user_id"] != user_id:
            return False
        del self.rows[passkey_id]
        return True


class FakeTotpStore:
    """In-memory ``services.auth.totp.Store`` with the SQL functions' semantics (one person)."""

    def __init__(self) -> None:
        self.sealed_seed = b""
        self.confirmed = False
        self.last_step = 0
        self.codes: dict[str, bool] = {}  # digest -> used
        self.session_id = ""
        self.enrolled_at = 0.0
        self.failures = 0
        self.lockouts = 0
        self.locked_until: Any = None
        self.clock: Any = None  # datetime now; set by the test

    def _now(self) -> Any:
        from datetime import UTC, datetime

        return self.clock() if self.clock else datetime.now(UTC)

    def has_factor(self, user_id: str) -> bool:
        return self.confirmed

    async def enroll(self, user_id: str, sealed: bytes, session_id: str) -> bool:
        if self.confirmed:
            return False
        now = self._now().timestamp()
        if self.sealed_seed and self.session_id != session_id and now - self.enrolled_at < 600:
            return False
        self.sealed_seed, self.last_step, self.session_id, self.enrolled_at = sealed, 0, session_id, now
        return True

    async def get(self, user_id: str) -> Any:
        from services.auth.totp_store import TotpRecord

        if not self.sealed_seed:
            return None
        locked = self.locked_until if self.locked_until is not None and self.locked_until > self._now() else None
        return TotpRecord(self.sealed_seed, self.confirmed, self.last_step, self.session_id, locked)

    async def failed(self, user_id: str, threshold: int, base_s: int) -> Any:
        from datetime import timedelta

        if not self.sealed_seed:
            return None
        self.failures += 1
        if self.failures < threshold:
            return None
        self.failures = 0
        self.locked_until = self._now() + timedelta(seconds=min(86_400, base_s * 2 ** min(self.lockouts, 16)))
        self.lockouts += 1
        return self.locked_until

    async def succeeded(self, user_id: str) -> None:
        self.failures = self.lockouts = 0

    async def accept(self, user_id: str, step: int) -> bool:
        if step <= self.last_step:
            return False
        self.last_step = step
        return True

    async def confirm(self, user_id: str, digests: list[str]) -> None:
        self.confirmed = True
        self.codes = dict.fromkeys(digests, False)

    async def use_recovery_code(self, user_id: str, digest: str) -> bool:
        if self.codes.get(digest) is not False:
            return False
        self.codes[digest] = True
        return True
