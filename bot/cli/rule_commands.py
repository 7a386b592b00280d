"""``newswatch rules check | test | backtest``: the rule commands, as plain functions.

Each writes a human-readable report to ``out`` and returns the process exit status. The CLI
parses arguments and calls them; these do not parse arguments or exit.

* ``cmd_check`` — validate every rule file (or the files named): 0 all valid, 1 a problem
  (printed with its place); warnings (lower-case "or" between words...) do not fail it.
* ``cmd_test`` — does a rule (or every rule of a file) match a text file or a web page, and why:
  0 at least one rule matched, 1 none matched, 2 the rules or the text could not be read.
* ``cmd_backtest`` — replay the rules of a file over the stored articles and compare with what
  fired then: 0 done, 2 the file is invalid.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

import yaml

from bot.config.rule_files import read_rule_sources, rule_files
from bot.search import ArticleArchive, replay_all
from core.errors import RuleError
from core.models import Article, Hit
from core.text import plural
from rules import RuleSet, compile_ruleset
from rules.explain import Explanation, explain, snippets
from storage.base import Feedback
from watchers.fetch import FeedFetcher, FetchResult

MAX_PAGE_BYTES = 5_000_000
FETCH_TIMEOUT_S = 20.0
DEFAULT_USER_AGENT = "newswatch rules test"
_PAGE_ACCEPT = "text/html, application/xhtml+xml, text/plain;q=0.9, */*;q=0.5"
_CHARSET_RE = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)


# ---- check -----------------------------------------------------------------------------------


def cmd_check(rules_dir: Path, out: TextIO, files: Sequence[Path] = ()) -> int:
    """Validate every rule file in ``rules_dir`` (or only ``files``, which may use the
    @aliases of the rule files next to them and in ``rules_dir``); print a summary or every
    problem, then warnings about valid but doubtful queries (lower-case or / and / not).
    Warnings do not change the exit status."""
    try:
        if files:
            sources = _with_folder_aliases(files, rules_dir)
            where = ", ".join(map(str, files))
            count = len(files)
        else:
            count = len(rule_files(rules_dir))
            sources = read_rule_sources(rules_dir)
            where = str(rules_dir)
        rules = compile_ruleset(sources)
    except RuleError as e:
        out.write(f"{e}\n")
        return 1
    shown = [str(f) for f in files]
    listed = [r for r in rules.compiled_rules if not shown or r.source.rsplit(":", 1)[0] in shown]
    out.write(f"OK: {plural(len(listed), 'rule')} in {plural(count, 'file')} ({where})\n")
    for rule in listed:
        out.write(f"  {rule.info.id:<24} {rule.info.name}  ({rule.source})\n")
    if rules.warnings:
        out.write(f"\n{plural(len(rules.warnings), 'warning')}:\n")
        for warning in rules.warnings:
            out.write(f"{warning}\n")
    return 0


# ---- test ------------------------------------------------------------------------------------


def _alias_names(text: str) -> set[str]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return set()  # compiling the file reports it, with its place
    if isinstance(data, dict) and isinstance(data.get("aliases"), dict):
        return {str(k).lower() for k in data["aliases"]}
    return set()


def _with_folder_aliases(file: Path | Sequence[Path], rules_dir: Path | None) -> dict[str, str]:
    """The file's (or files') text, plus the aliases (only) of the other rule files next to
    it or in ``rules_dir``, so a rule under test can use @aliases defined elsewhere. Aliases
    the files define themselves win (a copy of a rule file can be tested next to the
    original)."""
    files = [file] if isinstance(file, Path) else list(file)
    own: dict[str, str] = {}
    taken: set[str] = set()
    for one in files:
        try:
            own[str(one)] = one.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RuleError(f"{one}: cannot read: {e}") from e
        taken |= _alias_names(own[str(one)])
    sources: dict[str, str] = {}
    mine = {one.resolve() for one in files}
    folders = {one.resolve().parent for one in files}
    if rules_dir is not None and rules_dir.is_dir():
        folders.add(rules_dir.resolve())
    for folder in sorted(folders):
        for other in rule_files(folder):
            if other.resolve() in mine:
                continue
            try:
                data = yaml.safe_load(other.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # a broken neighbour is `rules check`'s business, not this test's
            if not (isinstance(data, dict) and isinstance(data.get("aliases"), dict)):
                continue
            extra = {k: v for k, v in data["aliases"].items() if str(k).lower() not in taken}
            taken.update(str(k).lower() for k in extra)
            if extra:
                sources[f"{other} (aliases)"] = yaml.safe_dump({"aliases": extra})
    sources.update(own)
    return sources


def _rules_under_test(rule_or_file: str, rules_dir: Path) -> tuple[RuleSet, list[str]]:
    path = Path(rule_or_file)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        sources = _with_folder_aliases(path, rules_dir)
        rules = compile_ruleset(sources)
        file_rules = [r.info.id for r in rules.compiled_rules if r.source.startswith(f"{path}:")]
        return rules, file_rules
    rules = compile_ruleset(read_rule_sources(rules_dir))
    if rules.get(rule_or_file) is None:
        known = ", ".join(r.id for r in rules.rules) or "none"
        raise RuleError(f"no rule {rule_or_file!r} in {rules_dir} (rules: {known})")
    return rules, [rule_or_file]


def _is_html(text: str) -> bool:
    head = text.lstrip()[:500].lower()
    return head.startswith(("<!doctype html", "<html")) or "<body" in head or "<head" in head


def article_from_text(text: str, source: str) -> Article:
    """A text file (first line: title, the rest: content) or an HTML page, as an article."""
    if _is_html(text):
        import trafilatura  # heavy (lxml); only `rules test` on a web page needs it

        content = trafilatura.extract(text, include_comments=False) or ""
        meta = trafilatura.extract_metadata(text)
        title = (meta.title if meta is not None else None) or ""
        if content.startswith(title):
            content = content[len(title) :].lstrip("\n")
        return Article(feed_url=source, identity=source, title=title, content=content)
    title, _, content = text.strip("\ufeff").partition("\n")
    return Article(feed_url=source, identity=source, title=title.strip(), content=content)


def load_text(
    source: str, *, allow_private: bool = False, user_agent: str = DEFAULT_USER_AGENT
) -> Article:
    """Read ``source`` (a file path or an http(s) URL) into an article; RuleError if unreadable.

    A URL is fetched by the bot's own fetcher (``watchers.fetch.FeedFetcher``) with its address
    policy: loopback and private addresses are refused unless ``allow_private``
    (``NEWSWATCH_ALLOW_PRIVATE_ADDRESSES``), redirects are checked hop by hop, the body is capped.
    """
    if source.startswith(("http://", "https://")):
        return article_from_text(_fetch_page(source, allow_private, user_agent), source)
    try:
        text = Path(source).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise RuleError(f"{source}: cannot read: {e.strerror or e}") from e
    return article_from_text(text, source)


def _fetch_page(url: str, allow_private: bool, user_agent: str) -> str:
    async def fetch() -> FetchResult:
        async with FeedFetcher(
            user_agent=user_agent,
            allow_private=allow_private,
            max_body_bytes=MAX_PAGE_BYTES,
            total_timeout_s=FETCH_TIMEOUT_S,
        ) as fetcher:
            return await fetcher.fetch(url, accept=_PAGE_ACCEPT)

    result = asyncio.run(fetch())
    if not result.ok or result.body is None:
        reason = result.error or "no body"
        if "blocked address" in reason:
            reason += " (NEWSWATCH_ALLOW_PRIVATE_ADDRESSES=true allows it, as for feeds)"
        raise RuleError(f"{url}: cannot fetch: {reason}")
    charset = _CHARSET_RE.search(result.content_type or "")
    try:
        return result.body.decode(charset.group(1) if charset else "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return result.body.decode("utf-8", errors="replace")


def format_explanation(ex: Explanation, article: Article) -> str:
    info = ex.rule.info
    verdict = "MATCHES" if ex.fired else "no match"
    lines = [f"{info.id} — {info.name}: {verdict}", f"  query: {ex.rule.query}"]
    if not ex.feed_ok:
        lines.append("  not applied: the rule is limited to other feeds or feed tags")
    for t in ex.terms:
        label = ("NOT " if t.negated else "") + t.term
        scope = "" if len(t.fields) == 3 else f" (in {', '.join(t.fields)})"
        if t.found:
            where = ", ".join(f"{n}× {f}" for f, n in t.found)
            lines.append(f"  {label}{scope}: found {where}")
        else:
            lines.append(f"  {label}{scope}: not found")
    by_field: dict[str, list[Hit]] = {}
    for h in ex.hits:
        by_field.setdefault(h.field, []).append(h)
    for field, hits in by_field.items():
        for snip in snippets(article.text_fields[field], hits):
            lines.append(f"    {field}: {snip}")
    return "\n".join(lines)


def cmd_test(
    rule_or_file: str,
    rules_dir: Path,
    text_source: str,
    out: TextIO,
    *,
    allow_private: bool = False,
    user_agent: str = DEFAULT_USER_AGENT,
) -> int:
    """Show whether and why a rule (an id in ``rules_dir``, or every rule of a YAML file)
    matches a text file or web page (fetched as the bot fetches: ``load_text``), with the
    matched words in [brackets]."""
    try:
        rules, ids = _rules_under_test(rule_or_file, rules_dir)
        article = load_text(text_source, allow_private=allow_private, user_agent=user_agent)
    except RuleError as e:
        out.write(f"{e}\n")
        return 2
    size = sum(len(v) for v in article.text_fields.values())
    out.write(f"text: {text_source} — {article.title[:80]!r}, {size:,} characters\n\n")
    fired = 0
    for rule_id in ids:
        ex = explain(rules, rule_id, article)
        fired += ex.fired
        out.write(format_explanation(ex, article) + "\n\n")
    out.write(f"{fired} of {plural(len(ids), 'rule')} matched\n")
    return 0 if fired else 1


# ---- backtest --------------------------------------------------------------------------------


async def cmd_backtest(
    file: Path,
    storage: ArticleArchive,
    out: TextIO,
    feed_tags: Mapping[str, Sequence[str]] | None = None,
    examples: int = 5,
    feedback: Sequence[Feedback] = (),
) -> int:
    """Replay the rules in ``file`` over every stored article (``bot.search.replay_all``);
    compare with what fired then.

    ``feed_tags`` (feed url -> tags) lets rules limited by ``feed_tags`` be judged; without it
    such rules only match feeds they name. Prints one line per rule (would fire / did fire /
    new / gone) and a few example titles of the differences; then the stories marked "not
    relevant" in the chat (``feedback``) for these rules, and whether each rule still fires.
    """
    try:
        rules = compile_ruleset(_with_folder_aliases(file, None))
    except RuleError as e:
        out.write(f"{e}\n")
        return 2
    ids = [r.id for r in rules.rules]
    would = dict.fromkeys(ids, 0)
    did = dict.fromkeys(ids, 0)
    new: dict[str, list[str]] = {i: [] for i in ids}
    gone: dict[str, list[str]] = {i: [] for i in ids}
    new_n = dict.fromkeys(ids, 0)
    gone_n = dict.fromkeys(ids, 0)
    total = 0
    tags = feed_tags or {}
    marks = [f for f in feedback if f.rule_id in would]
    marked = {f.article_identity for f in marks}
    fires_now: dict[str, set[str]] = {}  # identity of a marked article -> rules firing now
    # one replay for backtest, search and previews (bot.search): the word index, when storage
    # has one, spares the engine the articles none of these rules can fire on
    async for article, now, then in replay_all(storage, rules, ids, tags):
        total += 1
        if article.identity in marked:
            fires_now[article.identity] = set(now)
        for rule_id in ids:
            a, b = rule_id in now, rule_id in then
            would[rule_id] += a
            did[rule_id] += b
            if a and not b:
                new_n[rule_id] += 1
                if len(new[rule_id]) < examples:
                    new[rule_id].append(article.title)
            elif b and not a:
                gone_n[rule_id] += 1
                if len(gone[rule_id]) < examples:
                    gone[rule_id].append(article.title)
    out.write(f"backtest of {file} over {plural(total, 'stored article')}\n\n")
    width = max([len(i) for i in ids] + [4])
    out.write(f"{'rule':<{width}}  {'would fire':>10}  {'did fire':>8}  {'new':>5}  {'gone':>5}\n")
    for rule_id in ids:
        out.write(
            f"{rule_id:<{width}}  {would[rule_id]:>10}  {did[rule_id]:>8}  "
            f"{new_n[rule_id]:>5}  {gone_n[rule_id]:>5}\n"
        )
    for label, table in (("new (would fire now, did not then)", new), ("gone", gone)):
        if any(table.values()):
            out.write(f"\n{label}:\n")
            for rule_id, titles in table.items():
                for title in titles:
                    out.write(f"  {rule_id}: {title}\n")
    if marks:
        out.write(f"\nmarked not relevant in the chat ({len(marks)}):\n")
        for f in marks:
            now_fired = fires_now.get(f.article_identity)
            verdict = (
                "article pruned, not replayed"
                if now_fired is None
                else ("still fires" if f.rule_id in now_fired else "no longer fires")
            )
            out.write(f"  {f.rule_id}: {f.title} — {verdict}\n")
    if any(r.feed_tags for r in rules.compiled_rules) and feed_tags is None:
        out.write("\nnote: rules limited by feed_tags were judged without the feeds' tags\n")
    return 0
