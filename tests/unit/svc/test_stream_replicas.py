"""Stream replicas are a setting of the operator's ``streams`` step (``BASTION_STREAM_REPLICAS``)."""

from __future__ import annotations

import msgspec
import pytest
from nats.js.errors import NotFoundError

from libs.svc import streams
from libs.svc.settings import load


def test_one_replica_by_default_and_as_configured() -> None:
    assert load(streams.StreamSettings, {}).stream_replicas == 1
    replicas = load(streams.StreamSettings, {"BASTION_STREAM_REPLICAS": "3"}).stream_replicas
    assert [streams.stream_config(spec, replicas).num_replicas for spec in streams.ALL] == [3, 3, 3]
    assert streams.stream_config(streams.USAGE).num_replicas == 1


@pytest.mark.parametrize("value", ["0", "6", "-1", "three"])
def test_out_of_range_replicas_are_refused(value: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        load(streams.StreamSettings, {"BASTION_STREAM_REPLICAS": value})


async def test_provision_sends_the_replicas_to_every_stream() -> None:
    sent: list[tuple[str, int | None]] = []

    class FakeJs:
        async def consumer_info(self, stream: str, durable: str) -> object:
            raise NotFoundError

        async def add_stream(self, config: object) -> None:
            sent.append((config.name, config.num_replicas))  # type: ignore[attr-defined]

        async def add_consumer(self, stream: str, config: object) -> None:
            sent.append((f"{stream}/{config.durable_name}", config.num_replicas))  # type: ignore[attr-defined]

    await streams.provision(FakeJs(), replicas=3)  # type: ignore[arg-type]
    assert sent == [("USAGE", 3), ("AUDIT", 3), ("DEADLETTER", 3), ("USAGE/metering", None), ("AUDIT/audit", None),
                    ("AUDIT/audit_forward", None)]  # fmt: skip
