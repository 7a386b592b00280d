"""Which counts stand out from a rule's own history: a one-sided count test. Pure.

For each bucket (day or hour) the baseline is the ``window`` buckets before it. With their mean
``m`` and variance ``v``, the count is modelled as Poisson(m) when ``v <= m``, otherwise as a
negative binomial with the same mean and variance (news counts are over-dispersed: a quiet rule
has busy weeks). The bucket is a spike when ``P(X >= count) < alpha`` and the count is at least
``min_count`` (so one story after a silent month is not an alarm). ``m`` is floored at
``min_rate`` so an empty history does not make every story a spike. Stated in
docs/benchmarks.md with its false-alarm rate on a synthetic steady stream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.001
WINDOW = 28
MIN_COUNT = 3
MIN_RATE = 0.2
MIN_HISTORY = 7  # buckets of history needed before anything is judged


@dataclass(frozen=True, slots=True)
class Judgement:
    """One bucket: its count, the baseline it was judged against, the tail probability."""

    count: int
    expected: float
    p_value: float
    spike: bool


def _log_pmf_nb(k: int, r: float, p: float) -> float:
    return (
        math.lgamma(k + r)
        - math.lgamma(r)
        - math.lgamma(k + 1)
        + r * math.log(p)
        + k * math.log1p(-p)
    )


def _log_pmf_poisson(k: int, m: float) -> float:
    return -m + k * math.log(m) - math.lgamma(k + 1)


def upper_tail(count: int, mean: float, variance: float) -> float:
    """P(X >= count) under Poisson(mean), or the negative binomial when variance > mean."""
    if count <= 0:
        return 1.0
    if variance > mean:
        r = mean * mean / (variance - mean)
        p = r / (r + mean)
        below = sum(math.exp(_log_pmf_nb(k, r, p)) for k in range(count))
    else:
        below = sum(math.exp(_log_pmf_poisson(k, mean)) for k in range(count))
    return max(0.0, 1.0 - below)


def judge(
    history: Sequence[int],
    count: int,
    *,
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
    min_rate: float = MIN_RATE,
) -> Judgement:
    """Judge ``count`` against ``history`` (the buckets before it, oldest first)."""
    if len(history) < MIN_HISTORY:
        return Judgement(count, float("nan"), 1.0, False)
    mean = max(sum(history) / len(history), min_rate)
    variance = sum((x - mean) ** 2 for x in history) / max(len(history) - 1, 1)
    p = upper_tail(count, mean, variance)
    return Judgement(count, mean, p, p < alpha and count >= min_count)


def judge_series(
    counts: Sequence[int], *, window: int = WINDOW, alpha: float = ALPHA
) -> list[Judgement]:
    """Each bucket of ``counts`` (oldest first) judged against the ``window`` before it."""
    return [judge(counts[max(0, i - window) : i], c, alpha=alpha) for i, c in enumerate(counts)]
