"""The audit chain's verifier: each kind of tampering reports the first bad chain position."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from libs.audit.chain import Checkpoint, Verifier
from libs.audit.record import GENESIS, AuditRecord, at_millis, canonical, link
from libs.audit.signing import Signer, TrustedKeys, generate_seed

SIGNER = Signer.from_seed(generate_seed())
TRUSTED = TrustedKeys({SIGNER.key_id: SIGNER.public})
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _chain(n: int, org: str = "org1") -> list[AuditRecord]:
    rows: list[AuditRecord] = []
    prev = GENESIS
    for i in range(1, n + 1):
        unhashed = AuditRecord(id=f"evt{i}", timestamp=at_millis(1_700_000_000_000 + i), user_id="key1",
                               organization_id=org, action="chat.completion", resource_type="model",
                               resource_id="m", metadata={"status": 200, "n": [i, 0.5]}, ip_address="10.0.0.1",
                               user_agent="ua", success=True, actor_type="api_key", request_id=f"req{i}",
                               chain_seq=i, prev_hash=prev, hash=b"")  # fmt: skip
        row = msgspec.structs.replace(unhashed, hash=link(prev, unhashed))
        rows.append(row)
        prev = row.hash
    return rows


def _cp(row: AuditRecord, kind: str = "head", signer: Signer = SIGNER) -> Checkpoint:
    return Checkpoint(kind=kind, org_id=row.organization_id, chain_seq=row.chain_seq, hash=row.hash, signed_at=NOW,
                      key_id=signer.key_id,
                      signature=signer.sign(kind, row.organization_id, row.chain_seq, row.hash, NOW))  # fmt: skip


def _verify(rows: list[AuditRecord], checkpoints: list[Checkpoint], org: str = "org1") -> tuple[bool, int | None]:
    verifier = Verifier(org, checkpoints, TRUSTED)
    for row in rows:
        verifier.feed(row)
    report = verifier.finish()
    return report.ok, report.first_bad_seq


def test_an_intact_chain_verifies_and_reports_its_unsigned_tail() -> None:
    rows = _chain(10)
    verifier = Verifier("org1", [_cp(rows[6])], TRUSTED)
    for row in rows:
        verifier.feed(row)
    report = verifier.finish()
    assert report.ok
    assert report.rows_checked == 10
    assert (report.last_checkpoint_seq, report.unsigned_tail) == (7, 3)


def test_canonical_bytes_are_fixed() -> None:
    """The SQL of migration 0015 computes the same bytes; changing them breaks every chain."""
    row = _chain(1)[0]
    assert canonical(row) == (b'[1,"org1","evt1",1700000000001000,"api_key","key1","chat.completion","model","m",'
                              b'true,"req1","10.0.0.1","ua",{"n":[1,0.5],"status":200}]')  # fmt: skip


@pytest.mark.parametrize("field", ["user_id", "metadata", "success", "timestamp", "organization_id"])
def test_an_edited_row_is_found(field: str) -> None:
    rows = _chain(6)
    value = {"user_id": "key2", "metadata": {"status": 500}, "success": False, "timestamp": NOW,
             "organization_id": "org1"}[field]  # fmt: skip
    if field == "organization_id":  # same org, but the row claims another position: moved
        rows[3] = msgspec.structs.replace(rows[3], chain_seq=4, metadata={"moved": True})
    else:
        rows[3] = msgspec.structs.replace(rows[3], **{field: value})
    assert _verify(rows, [_cp(rows[5])]) == (False, 4)


def test_a_deleted_middle_row_is_found() -> None:
    rows = _chain(6)
    del rows[2]
    assert _verify(rows, []) == (False, 3)


def test_a_rehashed_edit_is_found_by_the_next_link_or_the_checkpoint() -> None:
    """An attacker who recomputes the edited row's hash breaks the next row's prev_hash; who
    recomputes the whole rest is caught by the signed checkpoint."""
    rows = _chain(6)
    edited = msgspec.structs.replace(rows[2], user_id="someone-else")
    rows[2] = msgspec.structs.replace(edited, hash=link(edited.prev_hash, edited))
    assert _verify(rows, []) == (False, 4)
    checkpoint = _cp(_chain(6)[5])
    prev = rows[2].hash
    for i in range(3, 6):
        row = msgspec.structs.replace(rows[i], prev_hash=prev)
        rows[i] = msgspec.structs.replace(row, hash=link(prev, row))
        prev = rows[i].hash
    assert _verify(rows, []) == (True, None)  # without a checkpoint, a full rewrite is consistent
    assert _verify(rows, [checkpoint]) == (False, 6)


def test_a_truncated_tail_is_found_from_the_checkpoint() -> None:
    rows = _chain(8)
    checkpoints = [_cp(rows[7])]
    assert _verify(rows[:5], checkpoints) == (False, 6)
    assert _verify([], checkpoints) == (False, 1)


def test_rows_cut_from_the_start_must_be_covered_by_a_prune_checkpoint() -> None:
    rows = _chain(8)
    assert _verify(rows[3:], []) == (False, 1)
    prune = _cp(rows[2], kind="prune")
    assert _verify(rows[3:], [prune]) == (True, None)
    assert _verify(rows[1:], [prune]) == (True, None)  # a retention run interrupted half-way
    assert _verify(rows[5:], [prune]) == (False, 4)  # more than retention removed


def test_a_forged_or_foreign_checkpoint_is_refused() -> None:
    rows = _chain(4)
    other = Signer.from_seed(generate_seed())
    assert _verify(rows, [_cp(rows[3], signer=other)]) == (False, 4)
    forged = msgspec.structs.replace(_cp(rows[1]), chain_seq=4, hash=rows[3].hash)
    assert _verify(rows, [forged]) == (False, 4)
    foreign = _cp(_chain(4, org="org2")[3])
    assert _verify(rows, [foreign]) == (False, 4)  # another tenant's checkpoint


def test_a_row_of_another_chain_is_found() -> None:
    rows = _chain(3)
    rows[1] = _chain(3, org="org2")[1]
    ok, bad = _verify(rows, [])
    assert (ok, bad) == (False, 2)


def test_the_signing_key_is_never_printed() -> None:
    seed = generate_seed()
    assert seed not in repr(Signer.from_seed(seed))
    with pytest.raises(ValueError, match="32 bytes"):
        Signer.from_seed("c2hvcnQ")


def test_the_writers_fast_hash_is_the_verifiers() -> None:
    from libs.contracts import normalise
    from libs.contracts.messages import AuditEvent
    from services.audit.store import _record

    event = normalise.audit(AuditEvent(event_id="e", ts=1_700_000_000_123, org_id="o", actor_type="api_key",
                                       actor_id="k", action="chat.completion", success=True, resource_type="model",
                                       resource_id="m", metadata={"b": [1, {"z": None}], "a": "é"}))  # fmt: skip
    record = _record(event, 7, b"\x01" * 32)
    assert record.hash == link(b"\x01" * 32, record)
    assert record.timestamp == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
