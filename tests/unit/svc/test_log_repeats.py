"""Repeated identical log lines are rate-limited, with a summary of what was suppressed."""

from __future__ import annotations

import io
import json
import logging

from libs.svc import logs


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _logger(clock: Clock, limit: int = 3) -> tuple[logging.Logger, io.StringIO, logs.RepeatFilter]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter("test"))
    repeat = logs.RepeatFilter(handler.handle, limit=limit, window_s=10.0, clock=clock)
    handler.addFilter(repeat)
    logger = logging.getLogger(f"test.repeats.{id(out)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out, repeat


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_flood_of_one_line_is_cut_to_the_limit_and_summarised() -> None:
    clock = Clock()
    logger, out, _ = _logger(clock)
    for i in range(13_000):
        logger.error("event not stored; will be redelivered", extra={"n": i})
    assert len(_lines(out)) == 3
    logger.info("another line")  # a different template is not affected
    assert len(_lines(out)) == 4
    clock.now = 10.5  # next window: the summary comes out with the next line of any kind
    logger.error("event not stored; will be redelivered")
    lines = _lines(out)
    summary = [line for line in lines if line.get("suppressed")]
    assert summary == [{**summary[0], "msg": "suppressed 12997 similar lines", "suppressed": 12997,
                        "template": "event not stored; will be redelivered", "level": "ERROR"}]  # fmt: skip
    assert lines[-1]["msg"] == "event not stored; will be redelivered"


def test_templates_are_compared_not_rendered_messages_and_levels_count_apart() -> None:
    clock = Clock()
    logger, out, repeat = _logger(clock, limit=2)
    for i in range(10):
        logger.warning("retry %d", i)
        logger.error("retry %d", i)
    assert len(_lines(out)) == 4
    repeat.flush()
    summaries = sorted((line["level"], line["suppressed"]) for line in _lines(out) if line.get("suppressed"))
    assert summaries == [("ERROR", 8), ("WARNING", 8)]
    for i in range(5):  # after a flush, counting starts afresh
        logger.warning("retry %d", i)
    clock.now = 11.0
    logger.info("tick")
    assert [line["suppressed"] for line in _lines(out) if line.get("suppressed")][2:] == [3]


def test_setup_installs_the_filter() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.setup("test")
        assert any(isinstance(f, logs.RepeatFilter) for h in root.handlers for f in h.filters)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
