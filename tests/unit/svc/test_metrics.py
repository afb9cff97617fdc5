"""The metrics registry: counters, gauges, histograms, rendering, escaping, bounded series."""

from __future__ import annotations

import pytest

from libs.contracts.messages import MetricsText
from libs.stack.metrics_bridge import merge
from libs.svc import metrics
from libs.svc.metrics import Bounded, Counter, Gauge, Histogram
from services.edge import measures  # noqa: F401 - registers the edge's families
from services.guardrails import handlers  # noqa: F401
from services.metering import app  # noqa: F401
from tests import promtext

REAL = metrics.REGISTRY


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Families made by a test live in a registry of their own."""
    monkeypatch.setattr(metrics, "REGISTRY", {})


def test_counter_and_gauge_render_one_sample_per_label_set() -> None:
    hits = Counter("t_hits_total", "Hits", ("route", "status"))
    hits.inc(route="chat", status="200")
    hits.inc(2, route="chat", status="200")
    hits.child("chat", "429")[0] += 1
    depth = Gauge("t_depth", "Depth", ("consumer",))
    depth.set(7, consumer="audit")
    depth.set(3, consumer="audit")
    samples = promtext.parse(metrics.render())
    assert samples[("t_hits_total", (("route", "chat"), ("status", "200")))] == 3
    assert samples[("t_hits_total", (("route", "chat"), ("status", "429")))] == 1
    assert samples[("t_depth", (("consumer", "audit"),))] == 3
    assert "# TYPE t_hits_total counter\n" in metrics.render()
    assert "# TYPE t_depth gauge\n" in metrics.render()


def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    took = Histogram("t_seconds", "Took", ("route",), buckets=(0.01, 0.1, 1.0))
    for value in (0.005, 0.01, 0.05, 0.5, 2.0):
        took.observe(value, route="chat")
    samples = promtext.parse(metrics.render())

    def bucket(le: str) -> float:
        return samples[("t_seconds_bucket", (("le", le), ("route", "chat")))]

    assert [bucket(le) for le in ("0.01", "0.1", "1", "+Inf")] == [2, 3, 4, 5]  # 0.01 is in le="0.01"
    assert samples[("t_seconds_count", (("route", "chat"),))] == 5
    assert samples[("t_seconds_sum", (("route", "chat"),))] == pytest.approx(2.565)
    assert took.count(route="chat") == 5


def test_histogram_hot_path_form_counts_like_observe() -> None:
    took = Histogram("t_seconds", "Took", ("route",), buckets=(0.01, 0.1))
    metrics.observe(took.buckets, took.child("a"), 0.05)
    took.observe(0.05, route="a")
    assert took.count(route="a") == 2
    assert 't_seconds_bucket{route="a",le="0.1"} 2\n' in metrics.render()


@pytest.mark.parametrize("buckets", [(), (0.1, 0.1), (1.0, 0.5), (0.1, float("inf"))])
def test_histogram_refuses_bad_buckets(buckets: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="buckets"):
        Histogram("t_bad", "Bad", (), buckets=buckets)


@pytest.mark.parametrize("label", ["service", "instance", "le"])
def test_the_scrape_labels_are_reserved(label: str) -> None:
    with pytest.raises(ValueError, match="labels"):
        Counter("t_clash_total", "Clash", (label,))


def test_label_values_are_escaped_and_read_back_unchanged() -> None:
    odd = 'a\\b"c\nd'
    Counter("t_odd_total", "Help with a \\ and a\nline feed", ("value",)).inc(value=odd)
    text = metrics.render()
    assert 't_odd_total{value="a\\\\b\\"c\\nd"} 1\n' in text
    assert "# HELP t_odd_total Help with a \\\\ and a\\nline feed\n" in text
    assert promtext.parse(text)[("t_odd_total", (("value", odd),))] == 1


def test_constant_labels_lead_every_sample() -> None:
    Counter("t_c_total", "C", ("route",)).inc(route="x")
    Histogram("t_h", "H", (), buckets=(1.0,)).observe(0.5)
    text = metrics.render(service="edge", instance='e"1')
    assert 't_c_total{service="edge",instance="e\\"1",route="x"} 1\n' in text
    assert 't_h_bucket{service="edge",instance="e\\"1",le="1"} 1\n' in text
    assert 't_h_sum{service="edge",instance="e\\"1"} 0.5\n' in text
    promtext.parse(text)


def test_numbers_keep_their_precision() -> None:
    big = Counter("t_big_total", "Big", ())
    big.inc(1234567)
    assert "t_big_total 1234567\n" in metrics.render()  # not 1.23457e+06
    assert metrics.number(0.1 + 0.2) == "0.30000000000000004"
    assert metrics.number(float("inf")) == "+Inf"


def test_a_flood_of_label_values_is_folded_into_other() -> None:
    hits = Counter("t_flood_total", "Flood", ("model",))
    took = Histogram("t_flood_seconds", "Flood", ("model",))
    for i in range(metrics.MAX_SERIES * 5):
        hits.inc(model=f"m{i}")
        took.observe(0.1, model=f"m{i}")
    assert hits.series() == took.series() == metrics.MAX_SERIES + 1
    assert hits.value(model=metrics.OTHER) == metrics.MAX_SERIES * 4
    assert took.count(model=metrics.OTHER) == metrics.MAX_SERIES * 4
    assert hits.value(model="m0") == 1  # the first ones keep their series
    assert sum(v for (n, _), v in promtext.parse(metrics.render()).items() if n == "t_flood_total") == 5 * 200


def test_bounded_keeps_the_first_values_then_says_other() -> None:
    bound = Bounded(2, known=("block",))
    assert [bound(v) for v in ("block", "warn", "x", "block", "warn", "y")] == [
        "block", "warn", "other", "block", "warn", "other"]  # fmt: skip


def test_every_family_of_the_services_renders_valid_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real families, as the processes register them, each with a series."""
    monkeypatch.setattr(metrics, "REGISTRY", REAL)
    for family in list(REAL.values()):
        family.child(*("test" for _ in family.labels))
    samples = promtext.parse(metrics.render(service="s", instance="i"))
    names = {name for name, _ in samples}
    for family in ("bastion_edge_requests_total", "bastion_edge_request_seconds_bucket",
                   "bastion_edge_phase_seconds_bucket", "bastion_edge_denials_total", "bastion_bus_requests_total",
                   "bastion_bus_request_seconds_count", "bastion_guardrail_findings_total",
                   "bastion_metering_leases_total", "bastion_consumer_pending", "bastion_dead_letters_total"):  # fmt: skip
        assert family in names


def test_merge_groups_each_family_once_with_every_process() -> None:
    def text_of(instance: str, hits: int) -> str:
        metrics.REGISTRY.clear()
        Counter("t_req_total", "Requests", ("route",)).inc(hits, route="chat")
        Histogram("t_lat", "Latency", (), buckets=(1.0,)).observe(0.5)
        return metrics.render(service="edge", instance=instance)

    answers = [MetricsText(service="edge", instance="e1", text=text_of("e1", 2)),
               MetricsText(service="edge", instance="e2", text=text_of("e2", 3)),
               MetricsText(service="audit", instance="a1", text="")]  # fmt: skip
    merged = merge(answers)
    samples = promtext.parse(merged)
    assert merged.count("# TYPE t_req_total counter") == 1
    assert promtext.value(samples, "t_req_total", instance="e1") == 2
    assert promtext.value(samples, "t_req_total", instance="e2") == 3
    assert promtext.value(samples, "t_lat_count", service="edge") == 2
    assert samples[("bastion_scrape_answers", (("service", "edge"),))] == 2
    assert samples[("bastion_scrape_answers", (("service", "audit"),))] == 1


@pytest.mark.parametrize(
    "bad",
    [
        "x 1",  # no final line feed
        "# TYPE x counter\n# TYPE x counter\nx 1\n",
        "# TYPE x counter\nx 1\n# TYPE y counter\ny 1\n# HELP x again\n",
        '# TYPE x counter\nx{a="1",a="2"} 1\n',
        '# TYPE x counter\nx{a="\\q"} 1\n',
        "# TYPE x counter\nx 1\nx 2\n",
        "# TYPE x counter\nx one\n",
        '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
        '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
        "y 1\n",
    ],
)
def test_the_reader_is_strict(bad: str) -> None:
    with pytest.raises(promtext.FormatError):
        promtext.parse(bad)
