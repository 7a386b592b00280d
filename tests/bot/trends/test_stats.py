"""The spike test: a steady history marks nothing, a burst is marked, thin history judges
nothing."""

from __future__ import annotations

from bot.trends.stats import judge, judge_series, upper_tail


def test_a_burst_over_a_steady_history_is_a_spike() -> None:
    history = [5, 4, 6, 5, 5, 3, 6, 4, 5, 7, 5, 4, 6, 5]
    assert judge(history, 18).spike
    assert not judge(history, 8).spike


def test_few_stories_after_silence_are_not_an_alarm() -> None:
    assert not judge([0] * 28, 2).spike  # below the minimum count
    assert judge([0] * 28, 6).spike


def test_too_little_history_judges_nothing() -> None:
    assert not judge([1, 1], 50).spike


def test_over_dispersed_history_widens_the_tail() -> None:
    assert upper_tail(12, 5.0, 20.0) > upper_tail(12, 5.0, 5.0)


def test_a_series_is_judged_against_its_own_past() -> None:
    counts = [5] * 30 + [25]
    assert [j.spike for j in judge_series(counts)][-1]
    assert not any(j.spike for j in judge_series(counts)[:-1])
