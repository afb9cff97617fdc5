"""The management API's per-IP limiter and its headers."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.testing import TestClient

from services.api.ratelimit import FixedWindow, rate_limit_middleware


def test_fixed_window_counts_and_resets() -> None:
    now = [0.0]
    window = FixedWindow(limit=2, window_s=900, clock=lambda: now[0])
    assert window.hit("ip") == (True, 1, 900)
    assert window.hit("ip")[0] is True
    allowed, remaining, reset = window.hit("ip")
    assert (allowed, remaining) == (False, 0)
    assert reset == 900
    assert window.hit("other-ip")[0] is True
    now[0] = 901
    assert window.hit("ip")[0] is True


def test_middleware_sets_headers_and_answers_429_with_problem_details() -> None:
    @get("/x", sync_to_thread=False)
    def x() -> dict[str, str]:
        return {"ok": "yes"}

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app = rate_limit_middleware(Litestar([x, healthz]), FixedWindow(limit=2, window_s=60))
    with TestClient(app) as client:  # type: ignore[arg-type]
        first = client.get("/x")
        assert first.headers["ratelimit-limit"] == "2"
        assert first.headers["ratelimit-remaining"] == "1"
        assert first.headers["ratelimit-policy"] == "2;w=60"
        client.get("/x")
        refused = client.get("/x")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["status"] == 429
        assert client.get("/healthz").status_code == 200  # probes are exempt
