"""Rendered trend charts kept in memory, keyed by what they draw.

Drawing a chart with matplotlib takes some 50-200 ms (load-dependent); the trends page asks for
it on every view.
The key is the rule, the bucket, the language of its words, the time zone its labels are in
(``TrendSeries.tz``: two zones are two pictures, even of the same hours), the buckets' start
times and every judged value the chart shows (count, baseline, spike), so a new story, a new
day, another range or another zone is another key and never shows a stale picture; a repeated
view of unchanged data costs a dictionary look-up.
Least recently used charts are dropped beyond ``max_entries``. Holds bytes only; reads no
storage and judges nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

from core.models import Language

from .series import TrendSeries

DEFAULT_ENTRIES = 64


def chart_key(title: str, series: TrendSeries, language: Language | None = None) -> str:
    """A digest of everything the chart of ``series`` titled ``title`` draws, its words'
    ``language`` and its labels' time zone included."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{title}\0{series.bucket}\0{language or ''}\0{series.tz.key}\0".encode())
    if series.starts:
        h.update(f"{series.starts[0].isoformat()}\0{len(series.starts)}\0".encode())
    for j in series.judgements:
        h.update(f"{j.count},{j.expected!r},{int(j.spike)};".encode())
    return h.hexdigest()


class ChartCache:
    """PNG bytes by ``chart_key``, the ``max_entries`` most recently used. Thread-safe (charts
    are drawn in worker threads)."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self._max = max_entries
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> bytes | None:
        with self._lock:
            png = self._items.get(key)
            if png is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return png

    def put(self, key: str, png: bytes) -> None:
        with self._lock:
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def keys(self) -> Sequence[str]:
        with self._lock:
            return list(self._items)
