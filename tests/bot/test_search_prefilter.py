"""The word-index prefilter never changes a result: for random queries over random articles
(plurals, accents, case, emoji inside words, ligatures, full-width letters, non-Latin words,
punctuation that other tokenizers keep inside tokens), candidates + engine gives exactly what a
full scan + engine gives, on SQLite and PostgreSQL. Articles accumulate across examples, some
are edited (the index follows the text) and some are pruned (the index forgets them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

import bot.search.prefilter
from bot.search import (
    QueryProblem,
    compile_query,
    has_word_index,
    scan_stored,
    search_stored,
    word_condition,
)
from bot.search.prefilter import exact_conditions
from storage import SqlStorage
from storage.words import AllWords, AnyWords, Word, article_tokens, token
from tests.support.storage_helpers import T0, make_article

# Article words that fold together (or only look alike), and words other tokenizers split or
# keep whole differently from the rule engine.
ARTICLE_WORDS = [
    "partner",
    "partners",
    "Partnerships",
    "partnership",
    "policy",
    "policies",
    "POLICIES",
    "news",
    "Sơn",
    "son",
    "SON",
    "sonata",
    "Đà",
    "Nẵng",
    "da",
    "nang",
    "Affair🧔s",
    "affairs",
    "US",
    "us",
    "U.S.",
    "US’s",
    "Vietnam–US",
    "vietnam.gov",
    "Vietnam/US",
    "ﬁsh",
    "fish",
    "Ｕｎｉｔｅｄ",
    "united",
    "straße",
    "strasse",
    "мир",
    "Мира",
    "東海",
    "sea",
    "Sea.",
    "East",
    "east",
    "football",
    "3.5",
    "10:30",
    "the",
    "a",
]
SEPARATORS = [" ", " ", " ", ", ", ". ", "\n", ": ", "-", " — ", "\u200b"]
QUERY_TERMS = [
    "partner",
    "partnership",
    "policy",
    "news",
    "son",
    "Sơn",
    "=Son",
    '"da nang"',
    '"Đà Nẵng"',
    "affairs",
    "us",
    "=US",
    "vietnam",
    "gov",
    "fish",
    "united",
    "strasse",
    "straße",
    "мир",
    "東海",
    "sea",
    '"east sea"',
    "football",
    "partner*",
    "pol*",
    '"east se*"',
    "son*",
    "3",
    "5",
    "the",
    "/Vi[eệ]t/i",
    "/son/",
]

texts = st.lists(
    st.tuples(st.sampled_from(ARTICLE_WORDS), st.sampled_from(SEPARATORS)),
    min_size=0,
    max_size=12,
).map(lambda pairs: "".join(w + s for w, s in pairs).strip())


def _binary(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda p: f"({p[0]} AND {p[1]})"),
        st.tuples(children, children).map(lambda p: f"({p[0]} OR {p[1]})"),
        st.tuples(children, children).map(lambda p: f"({p[0]} AND NOT {p[1]})"),
        st.tuples(children, st.integers(0, 3), children).map(
            lambda p: f"{p[0]} NEAR/{p[1]} {p[2]}"
        ),
        st.tuples(st.sampled_from(["title", "summary", "content"]), children).map(
            lambda p: f"{p[0]}:({p[1]})"
        ),
    )


queries = st.recursive(st.sampled_from(QUERY_TERMS), _binary, max_leaves=5)


@pytest.fixture
async def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SqlStorage]:
    # tiny chunks of candidate ids, so paging through the index (and the pending rows between
    # chunks) is exercised on a small database
    monkeypatch.setattr(bot.search.prefilter, "FIRST_CHUNK", 2)
    monkeypatch.setattr(bot.search.prefilter, "MAX_CHUNK", 5)
    s = SqlStorage(database_url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def _same_results(store: SqlStorage, query: str) -> None:
    try:
        rules = compile_query(query)
    except QueryProblem:
        assume(False)
        return
    for since, language in ((None, None), (T0 + timedelta(seconds=5), None), (None, "vi")):
        kwargs = {"keep": 10**6, "budget_s": 1e9, "since": since, "language": language}
        fast = await scan_stored(store, rules, ["query"], {}, **kwargs)  # type: ignore[arg-type]
        full = await scan_stored(store, rules, ["query"], {}, use_index=False, **kwargs)  # type: ignore[arg-type]
        assert fast.complete
        assert full.complete
        assert [(s.article_id, m) for s, m in fast.hits] == [
            (s.article_id, m) for s, m in full.hits
        ]
        assert fast.counts == full.counts
        assert fast.scanned <= full.scanned
        # a preview shows a few hits and counts all: for single-word rules the index counts
        few = await scan_stored(store, rules, ["query"], {}, keep=2, since=since, language=language)
        assert few.counts == full.counts
        assert few.hits == full.hits[:2]
        # paging: the next page starts below the last article of the first
        first = await scan_stored(
            store, rules, ["query"], {}, keep=1, stop_at=1, since=since, language=language
        )
        if first.last_id is not None:
            below = {
                "before_id": first.last_id,
                "keep": 10**6,
                "since": since,
                "language": language,
            }
            rest = await scan_stored(store, rules, ["query"], {}, **below)  # type: ignore[arg-type]
            rest_full = await scan_stored(store, rules, ["query"], {}, use_index=False, **below)  # type: ignore[arg-type]
            assert rest.hits == rest_full.hits


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    articles=st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=4),
    edit=st.booleans(),
    query=queries,
)
async def test_prefilter_and_engine_equal_a_full_scan(
    store: SqlStorage, articles: list[tuple[str, str, str]], edit: bool, query: str
) -> None:
    async with store._tx() as conn:
        n = int((await conn.execute(text("SELECT count(*) FROM articles"))).scalar_one())
    for i, (title, summary, content) in enumerate(articles):
        article = make_article(n + i, title=title or "x", summary=summary, content=content)
        await store.ingest(article, [], T0 + timedelta(seconds=n + i), alert=False)
    if edit and n:
        # the first article of the previous example gets this example's first text
        title, summary, content = articles[0]
        edited = make_article(n - 1, title=title or "y", summary=content, content=summary)
        await store.ingest(edited, [], T0 + timedelta(seconds=n + 100))
    await _same_results(store, query)


async def test_pruned_and_unindexed_articles(store: SqlStorage) -> None:
    """A pruned article leaves the index; an article whose words were never written (a row
    from another writer) is still a candidate, through the pending list."""
    await store.ingest(make_article(1, title="Policies of the partners"), [], T0)
    await store.ingest(make_article(2, title="Football news"), [], T0 + timedelta(days=100))
    async with store._tx() as conn:
        await conn.execute(text("DELETE FROM article_words"))  # as if written without words
        await conn.execute(
            text("INSERT INTO article_words_pending(article_id) SELECT id FROM articles")
        )
    rules = compile_query("policy AND partner")
    found = await scan_stored(store, rules, ["query"], {})
    assert found.indexed
    assert [s.article_id for s, _ in found.hits] == [1]
    assert await store.prune(T0 + timedelta(days=101), retention_days=30) == 1
    found = await scan_stored(store, rules, ["query"], {})
    assert found.hits == []
    assert found.scanned == 1
    await store.ingest(make_article(3, title="Partners and policy"), [], T0 + timedelta(days=101))
    async with store._tx() as conn:
        pending = (await conn.execute(text("SELECT count(*) FROM article_words_pending"))).scalar()
    assert pending == 1  # only article 2, written "without words" above; 3 is indexed
    found = await scan_stored(store, rules, ["query"], {})
    assert [s.article_id for s, _ in found.hits] == [3]


async def test_telegram_search_uses_the_index_and_counts_the_range(store: SqlStorage) -> None:
    await store.ingest(make_article(1, title="Policies", published_at=T0), [], T0)
    await store.ingest(make_article(2, title="Football", published_at=None), [], T0)
    await store.ingest(
        make_article(3, title="A policy", published_at=T0 - timedelta(days=40)), [], T0
    )
    assert has_word_index(store)
    result = await search_stored(store, "policy", since=T0 - timedelta(days=30))
    assert result.total == 1
    assert result.scanned == 2
    assert [f.article.title for f in result.page] == ["Policies"]
    everything = await search_stored(store, "policy")
    assert everything.total == 2
    assert everything.scanned == 3


async def test_the_index_counts_single_word_rules_exactly(store: SqlStorage) -> None:
    """A preview of ``policy OR news`` shows the newest hits and takes the count from the
    index (the engine reads only the hits shown and the pending articles)."""
    for n in range(12):
        title = ["Policies", "News of the day", "Weather"][n % 3]
        await store.ingest(make_article(n, title=title), [], T0 + timedelta(seconds=n))
    async with store._tx() as conn:  # one article written without its words
        await conn.execute(text("DELETE FROM article_words WHERE article_id = 1"))
        await conn.execute(text("INSERT INTO article_words_pending(article_id) VALUES (1)"))
    rules = compile_query("policy OR news")
    assert exact_conditions(rules, ["query"]) == {"query": AnyWords((Word("policy"), Word("news")))}
    found = await scan_stored(store, rules, ["query"], {}, keep=3)
    assert found.complete
    assert found.counts == {"query": 8}
    assert found.scanned == 3
    assert [s.article.title for s, _ in found.hits] == [
        "News of the day",
        "Policies",
        "News of the day",
    ]
    for query in ('"policy news"', "polic*", "=Policy", "policy AND NOT news", "title:policy"):
        assert exact_conditions(compile_query(query), ["query"]) is None


def test_word_conditions() -> None:
    """AND needs all, OR any, NOT nothing, a phrase all its words, a prefix its start; a
    regex alone gives no condition (a full scan)."""
    rules = compile_query('"East Sea" AND NOT football')
    assert word_condition(rules, ["query"]) == AllWords((Word("east"), Word("sea")))
    rules = compile_query("Policies OR partner* NEAR/3 =US")
    assert word_condition(rules, ["query"]) == AnyWords(
        (Word("policy"), AllWords((Word("partner", prefix=True), Word("us"))))
    )
    assert word_condition(compile_query("/Vi[eệ]t/i OR sea"), ["query"]) is None
    deep = "sea"
    for i in range(70):  # alternating AND / OR nests one level each: too deep for FTS5
        deep = f"(w{i} {'AND' if i % 2 else 'OR'} {deep})"
    assert word_condition(compile_query(deep), ["query"]) is None
    assert word_condition(compile_query("/Vi[eệ]t/i AND sea"), ["query"]) == Word("sea")


def test_tokens_keep_the_engines_words() -> None:
    assert article_tokens("Affair🧔s of Sơn", "", "Мира") == sorted(
        {"affair", "of", "son", token("мира")}
    )
    assert token("мира").startswith("u")
    assert set(token("мира")) <= set("u0123456789abcdef")
