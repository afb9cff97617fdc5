"""A strict reader of the Prometheus text format (0.0.4), for the tests: no parser is in the lock.

It refuses what a Prometheus server would refuse or misread: a malformed name, label or value, a
bad escape, a family's samples split up or seen before its ``TYPE``, a second ``HELP``/``TYPE``,
a duplicate series, a sample of a name its family does not have, and histograms whose buckets are
not cumulative, miss ``+Inf`` or disagree with ``_count``.
"""

from __future__ import annotations

import math
import re

Series = tuple[str, tuple[tuple[str, str], ...]]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)')
_SUFFIXES = {"counter": ("",), "gauge": ("",), "untyped": ("",), "histogram": ("_bucket", "_sum", "_count")}


class FormatError(AssertionError):
    """The text is not valid exposition format."""


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], value)


def _labels(text: str, line: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if match is None:
            raise FormatError(f"bad label set: {line!r}")
        out.append((match.group(1), _unescape(match.group(2))))
        pos = match.end()
    names = [n for n, _ in out]
    if len(names) != len(set(names)):
        raise FormatError(f"repeated label: {line!r}")
    return tuple(out)


def _value(text: str, line: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"bad value: {line!r}") from None


def parse(text: str) -> dict[Series, float]:
    """Every sample as ``{(name, sorted labels): value}``; raises :class:`FormatError`."""
    if text and not text.endswith("\n"):
        raise FormatError("the exposition must end with a line feed")
    types: dict[str, str] = {}
    helps: set[str] = set()
    done: set[str] = set()  # families whose samples are over
    current = ""
    samples: dict[Series, float] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            parts = line.split(" ", 3)
            if parts[1] not in ("HELP", "TYPE"):
                continue
            if len(parts) < 4 or not re.fullmatch(_NAME, parts[2]):
                raise FormatError(f"bad {parts[1]} line: {line!r}")
            name = parts[2]
            if parts[1] == "TYPE":
                if name in types or parts[3] not in _SUFFIXES:
                    raise FormatError(f"second or unknown TYPE: {line!r}")
                types[name] = parts[3]
            elif name in helps:
                raise FormatError(f"second HELP: {line!r}")
            else:
                helps.add(name)
            if name != current:
                if name in done:
                    raise FormatError(f"family {name} split up")
                if current:
                    done.add(current)
                current = name
            continue
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise FormatError(f"bad sample: {line!r}")
        name, labels = match.group(1), _labels(match.group(3) or "", line)
        family = current if current and name.startswith(current) else ""
        if not family or name[len(family) :] not in _SUFFIXES[types.get(family, "untyped")]:
            raise FormatError(f"sample {name} outside its family (current: {current!r})")
        key = (name, tuple(sorted(labels)))
        if key in samples:
            raise FormatError(f"duplicate series: {line!r}")
        samples[key] = _value(match.group(4), line)
    for family, kind in types.items():
        if kind == "histogram":
            _check_histogram(family, samples)
    return samples


def _check_histogram(family: str, samples: dict[Series, float]) -> None:
    buckets: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for (name, labels), value in samples.items():
        if name == f"{family}_bucket":
            rest = tuple(kv for kv in labels if kv[0] != "le")
            le = dict(labels)["le"]
            buckets.setdefault(rest, []).append((_value(le, le), value))
    for rest, points in buckets.items():
        points.sort()
        counts = [c for _, c in points]
        if counts != sorted(counts) or not math.isinf(points[-1][0]):
            raise FormatError(f"{family}{dict(rest)}: buckets not cumulative or no +Inf")
        if samples.get((f"{family}_count", rest)) != counts[-1] or (f"{family}_sum", rest) not in samples:
            raise FormatError(f"{family}{dict(rest)}: _count differs from the +Inf bucket, or no _sum")


def value(samples: dict[Series, float], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))
