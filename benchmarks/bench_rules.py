"""Rule engine benchmark: documents/s against 100 to 100,000 rules, with anchors in the same run.

Documents: 2,000 news-like documents of about 5 KB, built from the seed sentences with injected
noise (emoji and zero-width characters inside words, curly quotes, dash forms, diacritics,
case changes, line breaks). Rules: phrases of 1-4 words, most of which miss (a made-up word
in them) and some of which hit (n-grams of the seeds), plus a share of boolean and NEAR rules,
written as YAML and compiled from text like real rule files. Two rule corpora:

* ``few``: 20 rules can fire whatever the size (5-7 fire per document), the corpus of issue 4;
* ``many``: 1% of the rules are seed n-grams and can fire (about 18 fire per document at
  10,000 rules, 180 at 100,000), as large monitoring lists do (issue 14).

Reports, on one core, each size and corpus in a fresh process: compile time (CPU and wall),
peak RSS of the process while compiling (interpreter and rule text included, measured before
the documents are made), memory of the compiled set (RSS growth),
rules fired per document, documents/s of ``RuleSet.decide`` (normalisation included: which
rules fire), of ``RuleSet.match`` (every fired rule's hits located too), of the pure-Python
fallback, and in the same process two anchors that say which terms occur, without positions,
rules or plural folding of their own:

* a RE2 set (google-re2) of every term's scan form over our folded text (fold time included);
* pyahocorasick over ``lower()`` text with a word-boundary check per hit.

The engine and the anchors run interleaved (each 100-document chunk by all three, best of 3,
before the next chunk), three rounds: the docs/s columns are the rounds' medians and "vs
faster anchor" the median of the rounds' ratios, with their range. The pipeline column is
the pipeline's matching on the same documents: every fired rule's hits located and
serialised as storage keeps them (``match``), against ``decide`` and hits only for the rules
subscribed to (a tenth of them here), as ``bot.runtime.pipeline`` now does.

Then the event-loop lag while the real ``RuleReloader`` reloads the largest set.

Run: ``.venv/bin/python benchmarks/bench_rules.py [--quick]``. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.models import Article, RuleMatch  # noqa: E402
from rules import RuleSet, compile_ruleset, normalize  # noqa: E402
from rules.normalize import fast_tokens, fold_split, scan_form  # noqa: E402

SEEDS = ROOT / "tests" / "data" / "seeds"
DOC_BYTES = 5_000
NOISE = ["🧔", "\u200b", "\u200d", "\u00ad", "✃", "🇻🇳"]
DIACRITICS = {"Bui": "Bùi", "Son": "Sơn", "Nang": "Nẵng", "Viet": "Việt", "Da": "Đà"}


def sentences() -> list[str]:
    out: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if len(s.strip()) > 40]
    return out


def noisy(sentence: str, rnd: random.Random) -> str:
    words = sentence.split(" ")
    for i, w in enumerate(words):
        r = rnd.random()
        if r < 0.02 and len(w) > 3:
            cut = rnd.randrange(1, len(w) - 1)
            words[i] = w[:cut] + rnd.choice(NOISE) + w[cut:]
        elif r < 0.04:
            words[i] = w.upper()
        elif r < 0.06:
            words[i] = w.lower()
        elif w in DIACRITICS and r < 0.5:
            words[i] = DIACRITICS[w]
    text = " ".join(words)
    if rnd.random() < 0.3:
        text = text.replace("'", "’").replace(" - ", " – ")
    if rnd.random() < 0.1:
        text = text.replace(", ", ",\n  ")
    return text


def make_docs(n: int, rnd: random.Random) -> list[Article]:
    pool = sentences()
    docs: list[Article] = []
    for i in range(n):
        parts: list[str] = []
        size = 0
        while size < DOC_BYTES:
            s = noisy(rnd.choice(pool), rnd)
            parts.append(s)
            size += len(s.encode()) + 1
        title = noisy(rnd.choice(pool), rnd)[:120]
        docs.append(
            Article(
                feed_url="http://127.0.0.1/feed",
                identity=str(i),
                title=title,
                summary=parts[0],
                content="\n".join(parts[1:]),
            )
        )
    return docs


def seed_words() -> list[str]:
    words = re.findall(r"[A-Za-z]{3,}", " ".join(sentences()))
    return sorted(set(words))


def fake_word(rnd: random.Random) -> str:
    return "".join(rnd.choice("bcdfghjklmnpqrstvwxz") + rnd.choice("aeiou") for _ in range(3))


HITTING_RULES = 20  # few-fire corpus: rules that can fire (each on ~1 in 5 documents)
MANY_SHARE = 0.01  # many-fire corpus: this share of the rules are seed n-grams and can fire


def hitting_count(n: int, corpus: str) -> int:
    return max(1, round(n * MANY_SHARE)) if corpus == "many" else HITTING_RULES


def make_rules(
    n: int, rnd: random.Random, hitting_rules: int = HITTING_RULES
) -> tuple[str, list[tuple[str, str]]]:
    """YAML for ``n`` rules, and (id, phrase) of each plain-phrase rule (for the baselines).

    ``hitting_rules`` of them are built from phrases of the seeds, so they fire; the others
    hold a made-up word in every phrase that decides whether they fire, so they miss, though
    their other words (and the second operand of their ANDs) do occur in the documents and
    keep the automaton and the candidate filter busy. 80% phrases of 1-4 words, 20% boolean
    (AND, OR, AND NOT) and NEAR rules.
    """
    pool = [s.split() for s in sentences()]
    vocab = seed_words()
    lines = ["rules:"]
    phrases: list[tuple[str, str]] = []
    hitting = set(rnd.sample(range(n), min(n, hitting_rules)))

    def phrase(hit: bool) -> str:
        k = rnd.randint(1, 4)
        if hit:
            sent = rnd.choice(pool)
            start = rnd.randrange(max(1, len(sent) - k))
            words = [re.sub(r"[^\w’'-]", "", w) for w in sent[start : start + k]]
            words = [w for w in words if w]
            if any(len(w) >= 6 for w in words):  # nobody watches for "of the"
                return " ".join(words)
            return phrase(hit)
        words = [rnd.choice(vocab) for _ in range(k - 1)] + [fake_word(rnd)]
        rnd.shuffle(words)
        return " ".join(words)

    for i in range(n):
        kind = rnd.random()
        hit = i in hitting
        if kind < 0.80:
            p = phrase(hit)
            phrases.append((f"r{i}", p))
            q = f'"{p}"'
        elif kind < 0.87:
            q = f'"{phrase(hit)}" AND "{phrase(True)}"'
        elif kind < 0.92:
            q = f'"{phrase(hit)}" OR "{phrase(hit)}"'
        elif kind < 0.95:
            q = f'"{phrase(hit)}" AND NOT "{phrase(False)}"'
        else:
            q = f'"{phrase(hit)}" NEAR/5 "{phrase(True)}"'
        lines.append(f"  - id: r{i}\n    name: Rule {i}\n    query: {json.dumps(q)}")
    return "\n".join(lines) + "\n", phrases


def rss_mb() -> float:
    """Resident memory, after returning freed heap pages to the system where possible."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return float(psutil.Process().memory_info().rss) / 1e6


T = TypeVar("T")


def each(fn: Callable[[T], object], items: Sequence[T]) -> Callable[[], object]:
    """A thunk that runs ``fn`` on every item (what ``timed`` times)."""
    return lambda: [fn(x) for x in items]


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best CPU time of ``repeat`` runs (CPU, not wall: the machine is shared)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def pin_one_core() -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


CHUNK = 100
MATCH_DOCS = 300  # documents for the slower columns (all hits located, pure-Python fallback)


def per_doc_seconds(fn: Callable[[Article], object], docs: list[Article]) -> float:
    """CPU seconds to run ``fn`` over ``docs``: warm on 50, then each 100-document chunk timed
    best of 3 and summed (a burst of another process's work does not count against a whole
    pass; the machine is shared)."""
    for d in docs[:50]:
        fn(d)
    total = 0.0
    for i in range(0, len(docs), CHUNK):
        chunk = docs[i : i + CHUNK]
        total += timed(each(fn, chunk), repeat=3)
    return total


ROUNDS = 3  # interleaved rounds: the table reports each column's median


def interleaved(
    fns: dict[str, Callable[[Article], object]], docs: list[Article], rounds: int = ROUNDS
) -> dict[str, list[float]]:
    """CPU seconds of each of ``fns`` over ``docs``, one total per round. Interleaved: every
    100-document chunk is run by all of them (in an order rotated from chunk to chunk)
    before the next chunk, each chunk best of 3, so a burst of another process's work or a
    slower stretch of the machine falls on all of them alike (the machine is shared)."""
    names = list(fns)
    for fn in fns.values():
        for d in docs[:50]:
            fn(d)
    out: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        total = dict.fromkeys(names, 0.0)
        for c, i in enumerate(range(0, len(docs), CHUNK)):
            chunk = docs[i : i + CHUNK]
            shift = c % len(names)
            for name in names[shift:] + names[:shift]:
                fn = fns[name]
                total[name] += timed(each(fn, chunk), repeat=3)
        for name in names:
            out[name].append(total[name])
    return out


def hits_json_of(matches: list[RuleMatch]) -> list[str]:
    """What storage writes for each match (``storage.sql.ingest.hits_json``)."""
    from storage.sql.ingest import hits_json

    return [hits_json(m.hits) for m in matches]


def plain_normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


# ---- anchors ---------------------------------------------------------------------------------


def term_texts(rules: RuleSet) -> list[str]:
    """Every term of every rule, as written (no '=' or '*'), distinct."""
    return sorted({t.display.lstrip("=").rstrip("*") for t in rules.terms})


class Re2Anchor:
    """A RE2 set of every term's scan form, matched over our folded text (the same fold the
    engine uses, so the same words and plurals): which terms occur, no positions, no rules."""

    def __init__(self, rules: RuleSet) -> None:
        import re2

        options = re2.Options()
        options.max_mem = 4 << 30  # the default 8 MB is far too small for 100,000 patterns
        self.set = re2.Set.SearchSet(options)
        for pattern in rules._patterns:
            self.set.Add(re2.escape(pattern))
        self.set.Compile()

    def __call__(self, article: Article) -> set[int]:
        seen: set[int] = set()
        for text in (article.title, article.summary, article.content):
            seen.update(self.set.Match(scan_form(text)[0]) or ())
        return seen


class AhoAnchor:
    """pyahocorasick over ``lower()`` text with a word-boundary check per hit: which terms
    occur as whole words (no accents or plural folding, no positions kept, no rules)."""

    def __init__(self, rules: RuleSet) -> None:
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        for i, text in enumerate(term_texts(rules)):
            self.automaton.add_word(text.lower(), (i, len(text)))
        self.automaton.make_automaton()

    def __call__(self, article: Article) -> set[int]:
        seen: set[int] = set()
        for text in (article.title, article.summary, article.content):
            low = text.lower()
            n = len(low)
            for end, (i, length) in self.automaton.iter(low):
                start = end - length + 1
                if (start == 0 or not low[start - 1].isalnum()) and (
                    end + 1 == n or not low[end + 1].isalnum()
                ):
                    seen.add(i)
        return seen


def load_from_cache(rules: RuleSet, sources: dict[str, str]) -> tuple[float, float]:
    """(CPU, wall) seconds to load ``rules`` back from a ``RuleCache`` written for
    ``sources``: the key, the file read and checked, the parts rebuilt on an event loop."""
    import asyncio
    import tempfile

    from rules.cache import RuleCache, cache_key
    from rules.loader import load_off_loop, pack

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as folder:
        cache = RuleCache(Path(folder) / "rules")
        cache.store(cache_key(sources), pack(rules))
        gc.collect()
        t0, w0 = time.process_time(), time.perf_counter()
        loaded = asyncio.run(load_off_loop(sources, cache, between=gc.freeze))
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        gc.unfreeze()
    assert len(loaded) == len(rules)
    return cpu, wall


# ---- one size, in its own process ------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB on Linux


def measure_one_size(n: int, corpus: str, n_docs: int) -> dict[str, float]:
    """Compile ``n`` rules and match the corpus; runs in its own process."""
    pin_one_core()
    # the rules first: the peak RSS is then the compile's (with the interpreter and the rule
    # text), not the benchmark documents'
    source, _phrases = make_rules(n, random.Random(n), hitting_count(n, corpus))
    before = rss_mb()
    t0, w0 = time.process_time(), time.perf_counter()
    rules = compile_ruleset({"bench.yaml": source})
    compile_s, compile_wall = time.process_time() - t0, time.perf_counter() - w0
    peak = peak_rss_mb()
    source_text = source
    del source
    memory_mb = rss_mb() - before
    docs = make_docs(n_docs, random.Random(20251122))
    fired = sum(len(rules.decide(d)) for d in docs) / n_docs
    few = docs[:MATCH_DOCS]
    # the engine and both anchors interleaved in this process, ROUNDS rounds
    times = interleaved(
        {"decide": rules.decide, "re2": Re2Anchor(rules), "aho": AhoAnchor(rules)}, docs
    )
    ratios = sorted(min(r, a) / d for d, r, a in zip(*times.values(), strict=True))
    t_decide, t_re2, t_aho = (statistics.median(times[k]) for k in ("decide", "re2", "aho"))
    t_match = per_doc_seconds(rules.match, few)
    # the pipeline's matching (bot.runtime.pipeline): every fired rule's hits located and
    # serialised as storage keeps them, against decide, then hits for the rules subscribed
    # to only (a tenth of the rules here) and [] for the others
    wanted = frozenset(r.info.id for r in rules.compiled_rules[::10])
    pipe = interleaved(
        {
            "all": lambda d: hits_json_of(rules.match(d)),
            "explain": lambda d: hits_json_of(rules.decide(d).explained(wanted)),
        },
        few,
    )
    # the same rules on the pure-Python fold and the character automaton (pyahocorasick): what
    # an install without a C compiler runs; deciding only, as the docs/s column
    fallback = RuleSet(rules.compiled_rules, rules.terms, rules.regexes, word_scanner=False)
    saved, normalize._fast_fold = normalize._fast_fold, None
    try:
        t_fallback = per_doc_seconds(fallback.decide, few)
    finally:
        normalize._fast_fold = saved
    # the same set from the on-disk cache (rules.cache): written once, then read back, checked
    # and rebuilt as start-up and the reloader do (parts rebuilt with gc.freeze between them)
    cache_s, cache_wall = load_from_cache(rules, {"bench.yaml": source_text})
    return {
        "cache_s": cache_s,
        "cache_wall": cache_wall,
        "compile_s": compile_s,
        "compile_wall": compile_wall,
        "peak_mb": peak,
        "memory_mb": memory_mb,
        "docs_s": n_docs / t_decide,
        "match_s": len(few) / t_match,
        "fired": fired,
        "re2": n_docs / t_re2,
        "aho": n_docs / t_aho,
        "ratio": statistics.median(ratios),
        "ratio_min": ratios[0],
        "ratio_max": ratios[-1],
        "pipe_all": len(few) / statistics.median(pipe["all"]),
        "pipe_explain": len(few) / statistics.median(pipe["explain"]),
        "fallback": len(few) / t_fallback,
    }


def measure_reload_lag(n: int) -> dict[str, float]:
    """Loop lag (wall clock) while the real ``RuleReloader`` reloads an ``n``-rule folder, and,
    in the same process as the baseline, while the same files compile in a thread as the
    reloader did before (``asyncio.to_thread(compile_ruleset, ...)``)."""
    import asyncio
    import tempfile

    from bot.runtime.rules_reloader import RuleReloader
    from bot.services import RuleHolder
    from rules.cache import RuleCache

    pin_one_core()
    folder = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    cache_dir = Path(tempfile.mkdtemp(prefix="bench-rules-cache-")) / "rules"
    text = make_rules(n, random.Random(n))[0]
    (folder / "bench.yaml").write_text(text, encoding="utf-8")

    async def lagged(job: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
        lags: list[float] = []
        done = False

        async def monitor() -> None:
            while not done:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append(time.perf_counter() - t - 0.005)

        task = asyncio.create_task(monitor())
        await asyncio.sleep(0.2)
        lags.clear()
        w0 = time.perf_counter()
        await job()
        wall = time.perf_counter() - w0
        done = True
        await task
        lags.sort()
        return max(lags) * 1e3, lags[int(len(lags) * 0.99)] * 1e3, wall

    async def run() -> dict[str, float]:
        async def failed(message: str) -> None:
            raise RuntimeError(message)

        holder = RuleHolder(RuleSet.empty())
        reloader = RuleReloader(folder, holder, on_error=failed, cache=RuleCache(cache_dir))
        worst, p99, wall = await lagged(reloader.reload_now)
        assert len(holder.current) == n
        holder.swap(RuleSet.empty())
        gc.collect()
        # the same files again, in a reloader that has not seen them (a restart, a revert):
        # read back from the cache the first reload wrote
        reloader = RuleReloader(folder, holder, on_error=failed, cache=RuleCache(cache_dir))
        c_worst, c_p99, c_wall = await lagged(reloader.reload_now)
        assert len(holder.current) == n
        holder.swap(RuleSet.empty())
        gc.collect()
        t_worst, t_p99, t_wall = await lagged(
            lambda: asyncio.to_thread(compile_ruleset, {"bench.yaml": text})
        )
        return {
            "cache_lag_ms": c_worst,
            "cache_p99_ms": c_p99,
            "cache_reload_s": c_wall,
            "lag_ms": worst,
            "p99_ms": p99,
            "reload_s": wall,
            "thread_lag_ms": t_worst,
            "thread_p99_ms": t_p99,
            "thread_s": t_wall,
        }

    try:
        return asyncio.run(run())
    finally:
        import shutil

        shutil.rmtree(folder)
        shutil.rmtree(cache_dir.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, for a smoke test")
    parser.add_argument("--docs", type=int, default=2_000)
    parser.add_argument("--sizes", default="", help="rule counts, e.g. 100,10000")
    parser.add_argument("--corpora", default="few,many")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", default="few", help=argparse.SUPPRESS)
    parser.add_argument("--lag", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_one_size(args.child, args.corpus, args.docs)))
        return
    if args.lag:
        print(json.dumps(measure_reload_lag(args.lag)))
        return
    pin_one_core()
    rnd = random.Random(20251122)
    n_docs = 300 if args.quick else args.docs
    sizes = [100, 1_000, 10_000] if args.quick else [100, 1_000, 10_000, 100_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    docs = make_docs(n_docs, rnd)
    total_mb = sum(len((d.title + d.summary + d.content).encode()) for d in docs) / 1e6
    print(f"corpus: {n_docs} documents, {total_mb:.1f} MB, {total_mb * 1e3 / n_docs:.1f} KB/doc")
    print(f"python {sys.version.split()[0]}, one core, load average {os.getloadavg()}\n")

    texts = [d.title + "\n" + d.summary + "\n" + d.content for d in docs]
    chunks = [texts[i : i + 100] for i in range(0, len(texts), 100)]
    t_plain = sum(timed(each(plain_normalise, c), repeat=3) for c in chunks)
    t_ours = sum(timed(each(fast_tokens, c), repeat=3) for c in chunks)
    t_python = sum(timed(each(fold_split, c), repeat=3) for c in chunks)
    print("| normalisation alone | docs/s | MB/s |")
    print("|---|---:|---:|")
    for label, t in (
        ("plain NFKD + strip marks + casefold", t_plain),
        (f"newswatch `fast_tokens` (C fold: {'yes' if normalize.FAST_FOLD else 'NO'})", t_ours),
        ("newswatch pure-Python fold (`fold_split`, the fallback)", t_python),
    ):
        print(f"| {label} | {n_docs / t:,.0f} | {total_mb / t:.1f} |")
    print()

    print(
        "| corpus | rules | compile CPU / wall | from cache CPU / wall | peak RSS | memory | "
        "rules fired/doc | "
        "newswatch decide, docs/s | RE2 set, docs/s | pyahocorasick, docs/s | vs faster anchor "
        "(median, range) | match + all hits, docs/s | pure-Python decide, docs/s | "
        "pipeline: all hits / decide + explain, docs/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    verdicts: list[str] = []
    notes: list[str] = []
    for corpus in args.corpora.split(","):
        for n in sizes:
            child = [
                sys.executable, __file__, "--child", str(n), "--corpus", corpus,
                "--docs", str(n_docs),
            ]  # fmt: skip
            out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            ratio = r["ratio"]
            print(
                f"| {corpus} | {n:,} | {r['compile_s']:.2f} / {r['compile_wall']:.2f} s | "
                f"{r['cache_s']:.2f} / {r['cache_wall']:.2f} s | "
                f"{r['peak_mb']:,.0f} MB | {r['memory_mb']:,.0f} MB | {r['fired']:.1f} | "
                f"{r['docs_s']:,.0f} | {r['re2']:,.0f} | {r['aho']:,.0f} | {ratio:.2f}× "
                f"({r['ratio_min']:.2f}–{r['ratio_max']:.2f}) | "
                f"{r['match_s']:,.0f} | {r['fallback']:,.0f} | "
                f"{r['pipe_all']:,.0f} / {r['pipe_explain']:,.0f} |",
                flush=True,
            )
            if ratio < 1 or r["ratio_min"] < 1:
                verdicts.append(
                    f"{corpus} corpus, {n:,} rules: {ratio:.2f}× the faster anchor "
                    f"(rounds {r['ratio_min']:.2f}–{r['ratio_max']:.2f})"
                )
            if n == 100_000:
                # the target: a 100,000-rule set *loads* in under 3 s (the issue allows a
                # cache keyed by content); the first compile is reported, not a verdict
                notes.append(f"first compile, 100,000 rules ({corpus}): {r['compile_wall']:.1f} s")
                if r["cache_wall"] >= 3:
                    verdicts.append(f"load of 100,000 from cache {r['cache_wall']:.1f} s (< 3 s)")
                if r["peak_mb"] >= 400:
                    verdicts.append(f"peak RSS compiling 100,000 {r['peak_mb']:.0f} MB (< 400)")
                if r["memory_mb"] >= 300:
                    verdicts.append(f"compiled 100,000 rules {r['memory_mb']:.0f} MB (< 300)")
    top = max(sizes)
    lag_out = subprocess.run(
        [sys.executable, __file__, "--lag", str(top)], capture_output=True, text=True, check=True
    ).stdout
    lag = json.loads(lag_out.strip().splitlines()[-1])
    print(
        f"\nreload of {top:,} rules through RuleReloader (worker process): "
        f"{lag['reload_s']:.1f} s wall, loop lag worst {lag['lag_ms']:.0f} ms, "
        f"p99 {lag['p99_ms']:.0f} ms; baseline, the same compile in a thread: "
        f"{lag['thread_s']:.1f} s, worst {lag['thread_lag_ms']:.0f} ms, "
        f"p99 {lag['thread_p99_ms']:.0f} ms; the same files again from the cache: "
        f"{lag['cache_reload_s']:.1f} s, worst {lag['cache_lag_ms']:.0f} ms, "
        f"p99 {lag['cache_p99_ms']:.0f} ms"
    )
    if lag["lag_ms"] >= 100:
        verdicts.append(f"loop lag during a reload {lag['lag_ms']:.0f} ms (< 100)")
    print(f"load average after the run: {os.getloadavg()}")
    print("\ntargets: " + ("all met" if not verdicts else "NOT met: " + "; ".join(verdicts)))
    if notes:
        print("noted: " + "; ".join(notes))


if __name__ == "__main__":
    main()
