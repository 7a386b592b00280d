"""The spike test's false-alarm rate on synthetic steady streams, and its power on a burst.

A steady stream is Poisson at a fixed daily rate (and, to be fair to real news, a gamma-mixed
"over-dispersed" one); every day after the 28-day window is judged against the 28 before it
(bot.trends.stats). A false alarm is a marked day in a stream with no change.
Run: .venv/bin/python benchmarks/bench_trends.py
"""

from __future__ import annotations

import random
import time

from bot.trends.stats import ALPHA, MIN_COUNT, WINDOW, judge_series

DAYS = 365
STREAMS = 200


def poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for the small rates here
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def false_alarms(rate: float, dispersed: bool, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    marked = judged = 0
    for _ in range(STREAMS):
        counts = []
        for _ in range(DAYS):
            lam = rng.gammavariate(4.0, rate / 4.0) if dispersed else rate
            counts.append(poisson(rng, lam))
        judgements = judge_series(counts)
        marked += sum(j.spike for j in judgements[WINDOW:])
        judged += DAYS - WINDOW
    return marked, judged


def power(rate: float, factor: float, seed: int) -> float:
    rng = random.Random(seed)
    hits = 0
    for _ in range(STREAMS):
        counts = [poisson(rng, rate) for _ in range(WINDOW)] + [poisson(rng, rate * factor)]
        hits += judge_series(counts)[-1].spike
    return hits / STREAMS


def main() -> None:
    print(f"test: one-sided, alpha={ALPHA}, window={WINDOW} days, min count={MIN_COUNT}")
    print(f"{'stream':<28} {'days judged':>11} {'marked':>7} {'false-alarm rate':>17}")
    started = time.perf_counter()
    for rate in (1.0, 5.0, 20.0):
        for dispersed in (False, True):
            marked, judged = false_alarms(rate, dispersed, seed=int(rate * 10) + dispersed)
            label = f"{rate:g}/day {'gamma-mixed' if dispersed else 'Poisson'}"
            print(f"{label:<28} {judged:>11} {marked:>7} {marked / judged:>16.4%}")
    print()
    print(f"{'burst':<28} {'detected':>9}")
    for rate, factor in ((5.0, 2.0), (5.0, 3.0), (20.0, 1.5), (20.0, 2.0)):
        print(f"{f'{rate:g}/day x{factor:g}':<28} {power(rate, factor, 7):>9.0%}")
    print(f"\n({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
