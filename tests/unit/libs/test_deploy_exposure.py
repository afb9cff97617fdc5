"""What the compose deployment exposes: NATS monitoring (server names, subjects, client
addresses) is bound to loopback inside its container and never published."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_nats_monitoring_listens_on_loopback_only() -> None:
    conf = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    binds = re.findall(r'^\s*(?:http|https|http_port|monitor_port)\s*[:=]\s*"?([^"\s]+)"?', conf, re.MULTILINE)
    assert binds, "monitoring is configured explicitly"
    assert all(b.startswith("127.0.0.1:") for b in binds), binds


def test_compose_publishes_no_monitoring_port_and_nats_only_on_loopback() -> None:
    compose = (ROOT / "compose.yaml").read_text()
    assert "8222" not in compose
    for published in re.findall(r'"(?:[\d.]+:)?(\d+):4222"', compose):
        assert published == "4222"
    assert re.search(r'"127\.0\.0\.1:4222:4222"', compose)
    assert "BASTION_UPSTREAM_ALLOW" in compose, "the egress allow-list is visible to operators"
