"""Every bus request is counted by target and outcome, and timed (on a fake connection)."""

from __future__ import annotations

from typing import Any

import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from libs.contracts.codec import Codec, encode
from libs.contracts.messages import Fault, Ping, Pong
from libs.svc import metrics
from libs.svc.bus import Bus, Unavailable


class _Reply:
    def __init__(self, data: bytes) -> None:
        self.data = data


class _Conn:
    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)

    async def request(self, subject: str, payload: bytes, timeout: float, headers: Any) -> _Reply:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return _Reply(outcome)


_codec: Codec[Pong | Fault] = Codec(Pong | Fault)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcomes", "label"),
    [
        ([encode(Pong(service="auth", instance="a", ready=True))], "ok"),
        ([NatsTimeout()], "timeout"),
        ([NoRespondersError(), NoRespondersError()], "no_responders"),
        ([encode(Fault(code="internal", message="x"))], "fault"),
        ([b"not msgpack or json"], "malformed"),
        ([ConnectionResetError()], "error"),
    ],
)
async def test_each_outcome_is_counted_and_timed(outcomes: list[Any], label: str) -> None:
    target = f"t-{label}"
    bus = Bus(_Conn(*outcomes), timeout_s=1.0)  # type: ignore[arg-type]
    before = metrics.BUS_SECONDS.count(target=target)
    if label == "ok":
        await bus.request(target, "gw.x.ping.v1", Ping(request_id="r"), _codec)
    else:
        with pytest.raises(Unavailable) as raised:
            await bus.request(target, "gw.x.ping.v1", Ping(request_id="r"), _codec)
        assert raised.value.outcome == label
    assert metrics.BUS_REQUESTS.value(target=target, outcome=label) == 1
    assert sum(metrics.BUS_REQUESTS.value(target=target, outcome=o) for o in
               ("ok", "timeout", "no_responders", "fault", "malformed", "error")) == 1  # fmt: skip
    assert metrics.BUS_SECONDS.count(target=target) == before + 1
