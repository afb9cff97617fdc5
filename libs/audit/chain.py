"""Verify one organisation's audit chain from its stored rows and signed checkpoints.

Feed the rows in ``chain_seq`` order (:meth:`Verifier.feed`, so a large chain streams through in
pages), then :meth:`Verifier.finish`. The first bad ``chain_seq`` is reported for:

* an edited row (its hash is not ``SHA-256(prev_hash || canonical(row))``),
* a deleted middle row (a gap in ``chain_seq``, or a ``prev_hash`` that is not the previous hash),
* a truncated tail (a valid ``head`` checkpoint names a position past the last row, or another
  hash there),
* rows deleted from the start beyond what retention signed (the chain must start at 1, or right
  after — or inside — the latest ``prune`` checkpoint, whose hash the first row's ``prev_hash``
  then matches),
* a checkpoint whose signature does not verify under a trusted key (forged or altered).

Rows after the latest head checkpoint (made about once a second) are checked link by link but
are not yet pinned: ``unsigned_tail`` says how many.

The report carries the latest valid checkpoint it checked the chain against — kind, position,
hash, time, key id and signature — so a tenant can keep it outside the operator's database and
feed it back to a later verification (of an export, offline: this class, given the kept
checkpoint among the stored ones): a chain cut back below it, or rewritten up to it, together
with the checkpoints that covered it, no longer holds that hash at that position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from libs.audit.record import GENESIS, AuditRecord, link
from libs.audit.signing import TrustedKeys, b64, message


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One signed chain position (``audit.checkpoints``)."""

    kind: str
    org_id: str
    chain_seq: int
    hash: bytes
    signed_at: datetime
    key_id: str
    signature: bytes


class Report(msgspec.Struct, kw_only=True):
    """The outcome of verifying one chain."""

    organization_id: str
    ok: bool
    rows_checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_bad_seq: int | None = None
    reason: str = ""
    pruned_through: int = 0
    last_checkpoint_seq: int = 0
    last_checkpoint_at: datetime | None = None
    unsigned_tail: int = 0
    key_ids: list[str] = []
    last_checkpoint_kind: str = ""
    last_checkpoint_hash: str = ""
    """hex"""
    last_checkpoint_key_id: str = ""
    last_checkpoint_signature: str = ""
    """base64url Ed25519 over :func:`libs.audit.signing.message` of the checkpoint"""


@dataclass
class Verifier:
    """Streaming verification of one chain (see the module docstring)."""

    org_id: str
    checkpoints: list[Checkpoint]
    trusted: TrustedKeys
    _heads: dict[int, bytes] = field(default_factory=dict)
    _prune_seq: int = 0
    _prune_hash: bytes = GENESIS
    _bad: tuple[int, str] | None = None
    _last_seq: int | None = None
    _last_hash: bytes = GENESIS
    _first_seq: int | None = None
    _rows: int = 0
    _keys: set[str] = field(default_factory=set)
    _valid: dict[int, Checkpoint] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cp in sorted(self.checkpoints, key=lambda c: c.chain_seq):
            signed = message(cp.kind, cp.org_id, cp.chain_seq, cp.hash, cp.signed_at)
            if cp.org_id != self.org_id or not self.trusted.verify(cp.key_id, cp.signature, signed):
                self._fail(cp.chain_seq, f"{cp.kind} checkpoint at {cp.chain_seq} has no valid signature")
                continue
            self._keys.add(cp.key_id)
            self._valid[cp.chain_seq] = cp
            if cp.kind == "prune" and cp.chain_seq >= self._prune_seq:
                self._prune_seq, self._prune_hash = cp.chain_seq, cp.hash
            elif cp.kind == "head":
                self._heads[cp.chain_seq] = cp.hash

    def _fail(self, seq: int, reason: str) -> None:
        if self._bad is None or seq < self._bad[0]:
            self._bad = (seq, reason)

    def feed(self, record: AuditRecord) -> None:
        """Check the next row (rows must come in ``chain_seq`` order)."""
        seq = record.chain_seq
        self._rows += 1
        if record.organization_id != self.org_id:
            self._fail(seq, "row of another chain")
        if self._last_seq is None:
            self._first_seq = seq
            if seq == 1:
                if record.prev_hash != GENESIS:
                    self._fail(seq, "first row does not start from the genesis hash")
            elif seq > self._prune_seq + 1:
                self._fail(self._prune_seq + 1, f"rows {self._prune_seq + 1}..{seq - 1} missing (not pruned)")
            elif seq == self._prune_seq + 1 and record.prev_hash != self._prune_hash:
                self._fail(seq, "first row does not follow the signed prune point")
        elif seq != self._last_seq + 1:
            self._fail(self._last_seq + 1, f"rows {self._last_seq + 1}..{seq - 1} missing")
        elif record.prev_hash != self._last_hash:
            self._fail(seq, "prev_hash is not the previous row's hash")
        if link(record.prev_hash, record) != record.hash:
            self._fail(seq, "hash does not match the row (edited)")
        pinned = self._heads.get(seq)
        if pinned is not None and pinned != record.hash:
            self._fail(seq, "row differs from its signed checkpoint")
        self._last_seq, self._last_hash = seq, record.hash

    def finish(self) -> Report:
        """The report, once every row was fed."""
        last = self._last_seq if self._last_seq is not None else self._prune_seq
        for seq in sorted(self._heads):
            if seq > last:
                self._fail(last + 1, f"rows {last + 1}..{seq} missing: a signed checkpoint reached {seq}")
                break
        if self._last_seq is None and self._prune_seq == 0 and self._heads:
            self._fail(1, "every row missing")
        head_seqs = [s for s in self._heads if s <= last]
        last_cp = max([*head_seqs, self._prune_seq], default=0)
        kept = self._valid.get(last_cp)
        signed_at = kept.signed_at if kept is not None else None
        bad = self._bad
        report = Report(organization_id=self.org_id, ok=bad is None, rows_checked=self._rows, first_seq=self._first_seq,
                      last_seq=self._last_seq, first_bad_seq=bad[0] if bad else None, reason=bad[1] if bad else "",
                      pruned_through=self._prune_seq, last_checkpoint_seq=last_cp, last_checkpoint_at=signed_at,
                      unsigned_tail=max((self._last_seq or 0) - last_cp, 0), key_ids=sorted(self._keys))  # fmt: skip
        if kept is not None:
            report.last_checkpoint_kind, report.last_checkpoint_hash = kept.kind, kept.hash.hex()
            report.last_checkpoint_key_id, report.last_checkpoint_signature = kept.key_id, b64(kept.signature)
        return report
