"""A real nats-server (JetStream) and a real PostgreSQL, started once per session on free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from libs.stack import pg
from libs.svc import streams
from tests.helpers import nats_server, postgres


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with nats_server(tmp_path_factory.mktemp("nats")) as url:
        yield url


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pg.Cluster]:
    with postgres(tmp_path_factory.mktemp("pg")) as c:
        yield c


@pytest.fixture(scope="session")
def dsn(cluster: pg.Cluster) -> str:
    return cluster.dsn()


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[tuple[str, Client]]:
    """A fresh JetStream server per test, provisioned as the operator would: its URL and a client."""
    with nats_server(tmp_path) as url:
        nc = await nats.connect(url)
        await streams.provision(nc.jetstream())
        try:
            yield url, nc
        finally:
            await nc.close()
