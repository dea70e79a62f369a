"""SeriesStore: ring wrap, gaps, coarse min/avg/max and its bound on series."""

from __future__ import annotations

import math

from console.metrics.series import SeriesStore


def test_points_keep_written_seconds_and_nan_gaps() -> None:
    store = SeriesStore(fine_slots=10, coarse_slots=4)
    store.add("m", 100.2, 1.0)
    store.add("m", 101.9, math.nan)  # a failed poll: a recorded gap
    store.add("m", 103.0, 3.0)  # 102 never written: absent
    points = store.points("m", 100)
    assert [t for t, _ in points] == [100.0, 101.0, 103.0]
    assert math.isnan(points[1][1])
    assert store.latest("m") == (103.0, 3.0)
    assert store.points("m", 101.5, 102.5) == []
    assert store.points("other", 0) == []


def test_ring_wraps_and_forgets_the_oldest() -> None:
    store = SeriesStore(fine_slots=10, coarse_slots=4)
    for second in range(100, 125):
        store.add("m", second, float(second))
    points = store.points("m", 0)
    assert [t for t, _ in points] == [float(s) for s in range(115, 125)]


def test_coarse_history_min_avg_max() -> None:
    store = SeriesStore(fine_slots=10, coarse_step_s=60, coarse_slots=3)
    for second in range(0, 240):  # minutes 0..3; only the last 3 are kept
        store.add("m", 6000 + second, float(second % 60))
    store.add("m", 6000 + 239.5, math.nan)  # NaN does not count
    history = store.history("m", 0)
    assert [a.t for a in history] == [6060.0, 6120.0, 6180.0]
    last = history[-1]
    assert (last.min, last.avg, last.max, last.count) == (0.0, 29.5, 59.0, 60)


def test_store_refuses_series_beyond_its_bound() -> None:
    store = SeriesStore(fine_slots=10, coarse_slots=4, max_series=2)
    assert store.add("a", 1, 1.0) and store.add("b", 1, 1.0)
    assert not store.add("c", 1, 1.0)
    assert store.metrics() == ["a", "b"]
