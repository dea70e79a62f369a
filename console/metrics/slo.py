"""The guide's SLO math over raw counter snapshots, as pure functions.

Everything here works on values a source already holds; nothing does I/O. Counters
are read the way Prometheus' ``increase`` reads them, without extrapolation: the sum
of the positive steps between consecutive samples, where a decrease is a reset (the
application restarted) and the step is the new value. A series that first appears
after the start of the window counts from zero, so the first error of a kind that
had never happened before is not lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from console.metrics.catalog import Kind, MetricDef

LabelKey = tuple[tuple[str, str], ...]
"""A series' labels, sorted by name: the key of one series within a metric name."""

Matcher = Callable[[LabelKey], bool]


@dataclass(frozen=True, slots=True)
class RawSnapshot:
    """Every sample read in one poll, keyed by exposition name and labels."""

    t: float
    """Steady time (console.metrics.clock) at which the poll was sent."""
    values: Mapping[str, Mapping[LabelKey, float]]


def counter_increase(points: Iterable[float], *, from_zero: bool = False) -> float:
    """Events counted by one counter over consecutive ``points``.

    NaN points are skipped; a decrease is a reset whose step is the new value.
    ``from_zero`` counts the first point itself (the series appeared in the window).
    """
    total = 0.0
    prev: float | None = 0.0 if from_zero else None
    for value in points:
        if math.isnan(value):
            continue
        if prev is not None:
            total += value - prev if value >= prev else value
        prev = value
    return total


def match_labels(filters: Iterable[tuple[str, str]]) -> Matcher:
    """A matcher for exact label values; the value ``5xx`` matches any status of 500
    or more, or one that is not a number (a transport error has no HTTP status)."""
    wanted = tuple(filters)

    def matches(labels: LabelKey) -> bool:
        have = dict(labels)
        for name, value in wanted:
            got = have.get(name)
            if got is None:
                return False
            if value == "5xx":
                if got.isdigit() and int(got) < 500:
                    return False
            elif got != value:
                return False
        return True

    return matches


def increase(
    snaps: Sequence[RawSnapshot], name: str, matcher: Matcher | None = None
) -> float:
    """Sum of :func:`counter_increase` over every series of ``name`` that matches."""
    if len(snaps) < 2:
        return 0.0
    first = snaps[0].values.get(name, {})
    keys: set[LabelKey] = set()
    for snap in snaps:
        keys.update(snap.values.get(name, {}))
    total = 0.0
    for key in keys:
        if matcher is not None and not matcher(key):
            continue
        points = [
            snap.values[name][key] for snap in snaps if key in snap.values.get(name, {})
        ]
        total += counter_increase(points, from_zero=key not in first)
    return total


def bucket_increase(
    snaps: Sequence[RawSnapshot], name: str, matcher: Matcher | None = None
) -> dict[float, float]:
    """Δ of a histogram's cumulative buckets over the window, summed across the
    matching label sets, by upper bound (``le``)."""
    result: dict[float, float] = {}
    if len(snaps) < 2:
        return result
    bucket_name = name + "_bucket"
    first = snaps[0].values.get(bucket_name, {})
    keys: set[LabelKey] = set()
    for snap in snaps:
        keys.update(snap.values.get(bucket_name, {}))
    for key in keys:
        labels = dict(key)
        le = labels.pop("le", None)
        if le is None:
            continue
        if matcher is not None and not matcher(tuple(sorted(labels.items()))):
            continue
        points = [
            snap.values[bucket_name][key]
            for snap in snaps
            if key in snap.values.get(bucket_name, {})
        ]
        bound = float(le)
        result[bound] = result.get(bound, 0.0) + counter_increase(
            points, from_zero=key not in first
        )
    return result


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """The ``q`` quantile of cumulative ``buckets`` (upper bound -> count), linearly
    interpolated inside the bucket that holds the rank, as Prometheus does.

    None when there is no observation or no ``+Inf`` bucket. A rank in the ``+Inf``
    bucket gives the highest finite bound (the true value is at least that).
    """
    if not buckets or math.inf not in buckets:
        return None
    bounds = sorted(buckets)
    cumulative: list[float] = []
    running = 0.0
    for bound in bounds:
        # Deltas of separately reset buckets can be slightly non-monotonic.
        running = max(running, buckets[bound])
        cumulative.append(running)
    total = cumulative[-1]
    if total <= 0 or math.isnan(total):
        return None
    rank = q * total
    for i, bound in enumerate(bounds):
        if cumulative[i] < rank:
            continue
        if math.isinf(bound):
            return bounds[i - 1] if i > 0 else None
        lower = bounds[i - 1] if i > 0 else min(0.0, bound)
        below = cumulative[i - 1] if i > 0 else 0.0
        inside = cumulative[i] - below
        if inside <= 0:
            return bound
        return lower + (bound - lower) * (rank - below) / inside
    return None


def last_gauge(
    snaps: Sequence[RawSnapshot], name: str, matcher: Matcher | None = None
) -> tuple[float | None, float | None, int]:
    """(value, its time, points): the newest non-NaN sum of the matching series."""
    value: float | None = None
    at: float | None = None
    points = 0
    for snap in snaps:
        series = snap.values.get(name)
        if not series:
            continue
        picked = [
            v
            for key, v in series.items()
            if (matcher is None or matcher(key)) and not math.isnan(v)
        ]
        if picked:
            value, at = sum(picked), snap.t
            points += 1
    return value, at, points


@dataclass(frozen=True, slots=True)
class WindowValue:
    """What :func:`evaluate` found in a window of snapshots."""

    value: float | None
    samples: int


def evaluate(defn: MetricDef, snaps: Sequence[RawSnapshot]) -> WindowValue:
    """Compute one catalogued metric over ``snaps`` (oldest first, one window)."""
    num = match_labels(defn.numerator + defn.denominator) if defn.numerator else None
    den = match_labels(defn.denominator) if defn.denominator else None

    if defn.kind is Kind.RATIO:
        events = increase(snaps, defn.source, den)
        hits = increase(snaps, defn.source, num)
        if events <= 0:
            return WindowValue(None, 0)
        return WindowValue(100.0 * hits / events, round(events))

    if defn.kind is Kind.RATE:
        if len(snaps) < 2 or snaps[-1].t <= snaps[0].t:
            return WindowValue(None, 0)
        covered = snaps[-1].t - snaps[0].t
        counted = increase(snaps, defn.source, num)
        events = increase(snaps, defn.samples_from or defn.source, den)
        return WindowValue(counted / covered * defn.scale, round(events))

    if defn.kind is Kind.QUANTILE:
        buckets = bucket_increase(snaps, defn.source, den)
        count = buckets.get(math.inf, 0.0)
        return WindowValue(histogram_quantile(defn.quantile, buckets), round(count))

    if defn.kind is Kind.GAUGE:
        value, _, points = last_gauge(snaps, defn.source, den)
        return WindowValue(value, points)

    return WindowValue(None, 0)
