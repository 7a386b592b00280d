"""Scores of a grouping against labels: pairwise and B-cubed precision, recall and F1.

Pairs are counted apart by language: both English, English with Vietnamese (either order),
and all pairs. Pure; used by the scores test and ``benchmarks/bench_stories.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True, slots=True)
class PRF:
    """Precision, recall, F1, and the counts behind them (pairs; 0 for B-cubed)."""

    precision: float
    recall: float
    f1: float
    true_pairs: int = 0
    predicted_pairs: int = 0

    def __str__(self) -> str:
        return f"P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f}"


def _prf(tp: int, predicted: int, actual: int) -> PRF:
    p = tp / predicted if predicted else 1.0
    r = tp / actual if actual else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return PRF(p, r, f, actual, predicted)


def pairwise(
    story: Mapping[str, str],
    event: Mapping[str, str],
    lang: Mapping[str, str],
    langs: frozenset[str] | None = None,
) -> PRF:
    """Pairwise scores over the pairs whose two languages are ``langs`` (``{"en"}``: both
    English; ``{"en", "vi"}``: one of each; ``None``: every pair)."""
    tp = predicted = actual = 0
    for a, b in combinations(sorted(event), 2):
        if langs is not None and frozenset((lang[a], lang[b])) != langs:
            continue
        same_event, same_story = event[a] == event[b], story[a] == story[b]
        tp += same_event and same_story
        predicted += same_story
        actual += same_event
    return _prf(tp, predicted, actual)


def bcubed(story: Mapping[str, str], event: Mapping[str, str]) -> PRF:
    """B-cubed precision and recall, averaged over articles."""
    ids = sorted(event)
    p_sum = r_sum = 0.0
    for a in ids:
        cluster = {b for b in ids if story[b] == story[a]}
        gold = {b for b in ids if event[b] == event[a]}
        both = len(cluster & gold)
        p_sum += both / len(cluster)
        r_sum += both / len(gold)
    p, r = p_sum / len(ids), r_sum / len(ids)
    return PRF(p, r, 2 * p * r / (p + r) if p + r else 0.0)
