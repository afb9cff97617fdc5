"""The backup archive's two layers (libs/backup/cipher.py, archive.py) and its key metadata
(keys.py), attacked: flipped bytes, cuts, reordering, a wrong key, crafted part names, a huge or
lying manifest."""

from __future__ import annotations

import io
import json
import struct

import pytest

from libs.backup import archive, cipher, keys
from libs.backup.errors import BackupError
from libs.crypto.keyring import Keyring, generate_spec

RING = Keyring.from_spec(generate_spec("bk1"))


def _sealed(*, ring: Keyring = RING, big: bytes = b"") -> bytes:
    out = io.BytesIO()
    sealed = cipher.SealedWriter(out, ring)
    parts = archive.PartWriter(sealed)
    parts.part(archive.DB, [b"dump-bytes" * 100, big])
    parts.part(archive.STREAMS, [b'{"stream":"USAGE"}\n'])
    parts.part(archive.KEYRING, [b"{}"])
    parts.finish({"roles": []})
    sealed.close()
    return out.getvalue()


def _verify(blob: bytes, ring: Keyring = RING) -> archive.Verified:
    return archive.verify(cipher.open_chunks(io.BytesIO(blob), ring))


def _raw(plain: bytes, ring: Keyring = RING) -> bytes:
    """Seal an arbitrary plaintext (a crafted inner layer)."""
    out = io.BytesIO()
    sealed = cipher.SealedWriter(out, ring)
    sealed.write(plain)
    sealed.close()
    return out.getvalue()


def _part(name: str, *blocks: bytes) -> bytes:
    raw = name.encode()
    body = b"".join(struct.pack(">I", len(b)) + b for b in blocks)
    return b"P" + struct.pack(">H", len(raw)) + raw + body + struct.pack(">I", 0)


def test_a_sealed_archive_round_trips_and_checks_its_manifest() -> None:
    big = bytes(range(256)) * 5000  # > 1 MiB: several chunks
    verified = _verify(_sealed(big=big))
    assert verified.manifest["parts"][archive.DB]["size"] == 1000 + len(big)
    blocks = archive.part_blocks(cipher.open_chunks(io.BytesIO(_sealed(big=big)), RING), archive.DB)
    assert b"".join(blocks) == b"dump-bytes" * 100 + big


def test_nothing_is_in_clear() -> None:
    assert b"dump-bytes" not in _sealed()
    assert b"USAGE" not in _sealed()


@pytest.mark.parametrize("where", [0, 9, 50, 60, -1, -20])
def test_a_flipped_byte_anywhere_is_refused(where: int) -> None:
    blob = bytearray(_sealed(big=b"x" * (2 << 20)))
    blob[where] ^= 0x01
    with pytest.raises(BackupError):
        _verify(bytes(blob))


@pytest.mark.parametrize("keep", [10, 45, 100, 1 << 20, -1])
def test_a_truncated_archive_is_refused(keep: int) -> None:
    blob = _sealed(big=b"x" * (2 << 20))
    with pytest.raises(BackupError, match=r"truncated|corrupt"):
        _verify(blob[:keep])


def test_a_cut_exactly_at_a_chunk_boundary_is_refused() -> None:
    """The STREAM construction's point: an attacker dropping whole trailing chunks is caught by
    the final flag, not by luck."""
    blob = _sealed(big=b"x" * (3 << 20))
    header = len(cipher.MAGIC) + 1 + 3 + 32
    (word,) = struct.unpack(">I", blob[header : header + 4])
    first_chunk_end = header + 4 + (word & 0x7FFFFFFF)
    with pytest.raises(BackupError, match="no final chunk"):
        _verify(blob[:first_chunk_end])


def test_reordered_chunks_and_trailing_data_are_refused() -> None:
    blob = _sealed(big=b"x" * (3 << 20))
    header = len(cipher.MAGIC) + 1 + 3 + 32
    chunks, pos = [], header
    while pos < len(blob):
        (word,) = struct.unpack(">I", blob[pos : pos + 4])
        end = pos + 4 + (word & 0x7FFFFFFF)
        chunks.append(blob[pos:end])
        pos = end
    assert len(chunks) >= 3
    swapped = blob[:header] + chunks[1] + chunks[0] + b"".join(chunks[2:])
    with pytest.raises(BackupError, match="authentication"):
        _verify(swapped)
    with pytest.raises(BackupError, match="after the final chunk"):
        _verify(blob + b"\x00")


def test_a_wrong_or_unknown_key_is_refused() -> None:
    blob = _sealed()
    other_same_kid = Keyring.from_spec(generate_spec("bk1"))
    with pytest.raises(BackupError, match="wrong key"):
        _verify(blob, other_same_kid)
    with pytest.raises(BackupError, match="not in this keyring"):
        _verify(blob, Keyring.from_spec(generate_spec("bk2")))


def test_an_older_backup_key_still_opens_after_rotation() -> None:
    blob = _sealed()
    rotated = Keyring.from_spec(generate_spec("bk2") + "," + _spec_of(RING))
    assert _verify(blob, rotated).manifest["parts"]


def _spec_of(ring: Keyring) -> str:
    import base64

    return ",".join(f"{k.kid}:{base64.urlsafe_b64encode(k.material).decode().rstrip('=')}" for k in ring)


def _manifest(parts: dict[str, object]) -> bytes:
    return _part(archive.MANIFEST, json.dumps({"format": 1, "parts": parts}).encode())


def _entry(data: bytes) -> dict[str, object]:
    import hashlib

    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _valid_parts(**override: bytes) -> dict[str, bytes]:
    return {archive.DB: b"d", archive.STREAMS: b"s", archive.KEYRING: b"{}", **override}


def _crafted(parts: dict[str, bytes], manifest: dict[str, object] | None = None) -> bytes:
    body = b"".join(_part(n, d) for n, d in parts.items())
    listed = manifest if manifest is not None else {n: _entry(d) for n, d in parts.items()}
    return _raw(body + _manifest(listed) + b"E")


def test_a_crafted_but_honest_archive_passes() -> None:
    """The crafting helpers make valid archives, so the refusals below are about what they change."""
    assert _verify(_crafted(_valid_parts())).manifest["format"] == 1


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "db.dump/../x", "secrets.sealed\x00", ""])
def test_part_names_outside_the_fixed_set_are_refused(name: str) -> None:
    with pytest.raises(BackupError, match="unknown part"):
        _verify(_crafted({**_valid_parts(), name: b"x"}))


def test_a_duplicated_part_is_refused() -> None:
    body = _part(archive.DB, b"a") + _part(archive.DB, b"b")
    with pytest.raises(BackupError, match="twice"):
        _verify(_raw(body + _manifest({}) + b"E"))


def test_a_manifest_that_lies_about_a_size_or_digest_is_refused() -> None:
    parts = _valid_parts(**{archive.DB: b"the real dump"})
    lying = {n: _entry(d) for n, d in parts.items()}
    lying[archive.DB] = {**lying[archive.DB], "size": 3}  # type: ignore[dict-item]
    with pytest.raises(BackupError, match="checksum mismatch"):
        _verify(_crafted(parts, lying))
    lying[archive.DB] = _entry(b"another dump")
    with pytest.raises(BackupError, match="checksum mismatch"):
        _verify(_crafted(parts, lying))


def test_a_manifest_listing_a_missing_part_or_missing_a_part_is_refused() -> None:
    parts = _valid_parts()
    listed = {n: _entry(d) for n, d in parts.items()}
    with pytest.raises(BackupError, match="exactly the parts"):
        _verify(_crafted(parts, {**listed, archive.SECRETS: _entry(b"")}))
    del listed[archive.STREAMS]
    with pytest.raises(BackupError, match="exactly the parts"):
        _verify(_crafted(parts, listed))


def test_a_required_part_may_not_be_left_out() -> None:
    with pytest.raises(BackupError, match="lacks"):
        _verify(_crafted({archive.DB: b"d", archive.KEYRING: b"{}"}))


def test_a_huge_manifest_is_refused_without_being_held() -> None:
    blocks = [b"x" * (1 << 20)] * 3
    body = b"".join(_part(n, d) for n, d in _valid_parts().items()) + _part(archive.MANIFEST, *blocks)
    with pytest.raises(BackupError, match="larger than allowed"):
        _verify(_raw(body + b"E"))


def test_a_block_larger_than_allowed_is_refused() -> None:
    body = _part(archive.DB, b"x" * ((1 << 20) + 1))
    with pytest.raises(BackupError, match="larger than allowed"):
        _verify(_raw(body))


def test_parts_after_the_manifest_or_no_manifest_are_refused() -> None:
    parts = _valid_parts()
    body = b"".join(_part(n, d) for n, d in parts.items())
    with pytest.raises(BackupError, match="no manifest"):
        _verify(_raw(body + b"E"))
    listed = {n: _entry(d) for n, d in parts.items()}
    with pytest.raises(BackupError, match="after the manifest"):
        _verify(_raw(body + _manifest(listed) + _part(archive.SECRETS, b"x") + b"E"))


def test_keyring_metadata_holds_no_secret_and_detects_a_different_key() -> None:
    master, other = generate_spec("mk1"), generate_spec("mk1")
    pepper = "pepper-" + "p" * 40
    meta = keys.metadata(master, pepper)
    text = json.dumps(meta)
    assert master.split(":")[1] not in text
    assert pepper not in text
    keys.check_match(meta, master, pepper)
    keys.check_match(meta, generate_spec("mk2") + "," + master, pepper)  # a newer key beside it is fine
    with pytest.raises(BackupError, match="lacks key 'mk1'"):
        keys.check_match(meta, other, pepper)
    with pytest.raises(BackupError, match="pepper"):
        keys.check_match(meta, master, pepper + "x")


def test_sealed_secrets_open_only_with_the_passphrase_and_archive(monkeypatch: pytest.MonkeyPatch) -> None:
    master, pepper, fid = generate_spec("mk1"), "the-pepper-value", b"\x01" * 32
    blob = keys.seal_secrets(master, pepper, b"correct horse battery", fid)
    assert master.split(":")[1].encode() not in blob
    assert pepper.encode() not in blob
    assert keys.open_secrets(blob, b"correct horse battery", fid) == (master, pepper)
    with pytest.raises(BackupError, match="wrong passphrase"):
        keys.open_secrets(blob, b"correct horse battery!", fid)
    with pytest.raises(BackupError, match="wrong passphrase"):
        keys.open_secrets(blob, b"correct horse battery", b"\x02" * 32)  # moved into another archive
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "short")
    with pytest.raises(BackupError, match="at least 12"):
        keys.read_passphrase(None)


def test_prune_keeps_the_newest(tmp_path: object) -> None:
    import os
    from pathlib import Path

    from libs.backup.create import prune

    out = Path(str(tmp_path))
    names = [f"bastion-2026120{i}T000000Z.bkp" for i in range(1, 6)]
    for i, name in enumerate(names):
        (out / name).write_bytes(b"x")
        os.utime(out / name, (1000 + i, 1000 + i))
    (out / "notes.txt").write_text("keep me")
    gone = prune(out, 2)
    assert sorted(p.name for p in gone) == names[:3]
    assert sorted(p.name for p in out.iterdir()) == [*names[3:], "notes.txt"]


def test_the_second_read_must_be_the_same_archive() -> None:
    """Restore reads the archive twice (check, then load): a file swapped in between — even one
    sealed under the same backup key — is refused on the second read."""
    first, second = _sealed(), _sealed()
    fid = cipher.file_id(io.BytesIO(first))
    assert list(cipher.open_chunks(io.BytesIO(first), RING, expect_file_id=fid))
    with pytest.raises(BackupError, match="changed"):
        list(cipher.open_chunks(io.BytesIO(second), RING, expect_file_id=fid))


def test_a_restore_into_a_running_stack_or_onto_a_busy_bus_port_is_refused(tmp_path: object) -> None:
    import socket
    from pathlib import Path

    from libs.backup import restore
    from libs.stack.config import StackConfig

    var = Path(str(tmp_path)) / "var"
    (var / "run").mkdir(parents=True)
    (var / "run" / "ready").write_text("1")
    with pytest.raises(BackupError, match="running"):
        restore.restore(StackConfig(var=var), var / "none.bkp")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = StackConfig(var=var, nats_port=busy.getsockname()[1])
        with pytest.raises(BackupError, match="already in use"):
            restore.ensure_free(config.host, config.nats_port, "NATS")


def test_a_stream_line_longer_than_any_message_is_refused() -> None:
    from libs.backup import streams

    with pytest.raises(BackupError, match="too long"):
        list(streams.lines(iter([b"x" * (1 << 20)] * 20)))


def test_both_entry_points_run_the_same_command() -> None:
    from libs.backup import cli
    from libs.cli.main import build_parser

    args = build_parser().parse_args(["backup", "restore", "a.bkp", "--var", "v"])
    assert args.func is cli.run
    assert (args.action, args.archive) == ("restore", "a.bkp")
    import argparse

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["backup", "create", "--out", "o", "--keep", "3"]).keep == 3


def test_sealing_and_checking_a_large_dump_stays_in_constant_memory(tmp_path: object) -> None:
    """A dump never sits in memory: 24 MiB through the writer and the checker, peak a few MiB."""
    import os
    import tracemalloc
    from pathlib import Path

    path = Path(str(tmp_path)) / "big.bkp"
    block = os.urandom(1 << 20)
    tracemalloc.start()
    try:
        with path.open("wb") as f:
            sealed = cipher.SealedWriter(f, RING)
            parts = archive.PartWriter(sealed)
            parts.part(archive.DB, (block for _ in range(24)))
            parts.part(archive.STREAMS, [b""])
            parts.part(archive.KEYRING, [b"{}"])
            parts.finish({})
            sealed.close()
        with path.open("rb") as f:
            verified = archive.verify(cipher.open_chunks(f, RING))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert verified.manifest["parts"][archive.DB]["size"] == 24 << 20
    assert peak < 8 << 20, peak
