"""The local nats-server's Go runtime settings: ours by default, the operator's when set."""

from __future__ import annotations

import pytest

from libs.stack import natsd


def test_the_local_server_runs_one_scheduler_thread_with_a_tighter_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOMAXPROCS", raising=False)
    monkeypatch.delenv("GOGC", raising=False)
    env = natsd.env()
    assert env["GOMAXPROCS"] == "1"
    assert env["GOGC"] == "50"


def test_an_operators_own_go_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOMAXPROCS", "4")
    monkeypatch.setenv("GOGC", "100")
    env = natsd.env()
    assert (env["GOMAXPROCS"], env["GOGC"]) == ("4", "100")
