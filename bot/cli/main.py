"""The ``newswatch`` command line. Parses arguments, loads settings, calls one command.

Every expected failure (bad setting, bad rule file, unreachable database) ends with one line
on stderr naming the problem and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config.feeds_file import load_feeds_file
from bot.config.settings import Settings, load_settings
from core.errors import ConfigError, NewswatchError
from core.models import Article, Hit
from storage.base import Storage
from storage.explain import Explainer

if TYPE_CHECKING:
    from rules import RuleSet

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="Watch news feeds and alert Telegram chats when a story matches your rules.",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="settings file (default: .env, when it exists; a file named here must exist)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the bot (console alerts when no TELEGRAM_BOT_TOKEN is set)")
    demo = sub.add_parser(
        "demo", help="serve the seed articles as a local feed and print the alerts they raise"
    )
    demo.add_argument("--seeds", type=Path, default=None, help="folder of seed .txt articles")

    rules = sub.add_parser("rules", help="check, try and backtest rule files")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = rules_sub.add_parser(
        "check", help="validate every rule file (or the FILEs given); exit 1 if any is invalid"
    )
    check.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="rule files (default: the folder)"
    )
    test = rules_sub.add_parser("test", help="show whether and why a rule matches a text")
    test.add_argument("rule", help="a rule id, or a rule file")
    test.add_argument("text", help="a text file, or an http(s) URL")
    backtest = rules_sub.add_parser(
        "backtest", help="replay a rule file over stored articles: what would have fired"
    )
    backtest.add_argument("file", type=Path)

    feeds = sub.add_parser("feeds", help="feed health, and adding feeds")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", metavar="ACTION")
    feeds_sub.add_parser("list", help="show every feed and its health (the default)")
    add = feeds_sub.add_parser("add", help="validate a feed URL and add it to feeds.yaml")
    add.add_argument("url")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply database migrations (also done at start-up)")

    search = sub.add_parser(
        "search", help='search stored articles in the rule language: "a b" AND (c OR d)'
    )
    search.add_argument("words", nargs="+")
    search.add_argument("--limit", type=int, default=10)

    export = sub.add_parser("export", help="export matches as CSV or JSON Lines")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--from", dest="start", help="start date, YYYY-MM-DD (inclusive)")
    export.add_argument("--to", dest="end", help="end date, YYYY-MM-DD (inclusive)")
    export.add_argument("--rule", action="append", default=[], help="only this rule (repeatable)")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")

    sub.add_parser("doctor", help="check configuration, database, rules and Telegram")

    stories = sub.add_parser("stories", help="story grouping (docs/stories.md)")
    stories_sub = stories.add_subparsers(dest="stories_command", required=True, metavar="ACTION")
    grouping = stories_sub.add_parser(
        "group", help="group a JSON Lines file of articles offline; print {id, story} lines"
    )
    grouping.add_argument("file", type=Path, help="JSON Lines: id, title, text, published, ...")
    grouping.add_argument("--why", action="store_true", help="add the reason and the scores")
    show = stories_sub.add_parser("show", help="a stored story: its articles and why each joined")
    show.add_argument("id", type=int, help="story id (with --article: an article id)")
    show.add_argument("--article", action="store_true", help="ID is an article: show its story")
    split = stories_sub.add_parser("split", help="move an article into a story of its own")
    split.add_argument("article_id", type=int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.env_file is not None and not args.env_file.is_file():
            raise ConfigError(f"--env-file {args.env_file}: no such file")
        settings = load_settings(env_file=args.env_file or Path(".env"))
        return _dispatch(args, settings)
    except NewswatchError as e:
        print(f"newswatch: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _rule_ids_in_files(settings: Settings) -> set[str]:
    """The rule ids in the rules folder; none when it does not load (the stored matches still
    say which ids existed)."""
    from bot.config.rule_files import load_rules_dir

    try:
        return {r.id for r in load_rules_dir(settings.rules_dir).rules}
    except NewswatchError:
        return set()


def _lazy_explainer(settings: Settings) -> Explainer:
    """``RuleSet.hits_for`` of the rule files, compiled at the first match exported without
    hits (most exports need none: the matches of subscribed rules carry theirs). Rules that
    do not load explain nothing."""
    from bot.config.rule_files import load_rules_dir

    loaded: list[RuleSet | None] = []

    def explain(article: Article, rule_ids: Sequence[str]) -> Mapping[str, tuple[Hit, ...]]:
        if not loaded:
            try:
                loaded.append(load_rules_dir(settings.rules_dir))
            except NewswatchError:
                loaded.append(None)
        ruleset = loaded[0]
        return {} if ruleset is None else ruleset.hits_for(article, rule_ids)

    return explain


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    # Imports are local so that `newswatch --help` and config errors stay fast.
    from bot.ops.logging_setup import secrets_from_settings, setup_logging

    setup_logging(settings.log_level, settings.log_format, secrets_from_settings(settings))
    out = sys.stdout
    match args.command:
        case "run":
            from bot.runtime.app import run_until_signalled

            asyncio.run(run_until_signalled(settings))
            return 0
        case "demo":
            from bot.cli.demo import run_demo

            return asyncio.run(run_demo(settings, seeds_dir=args.seeds, out=out))
        case "rules":
            from bot.cli.rule_commands import cmd_backtest, cmd_check, cmd_test

            if args.rules_command == "check":
                return cmd_check(settings.rules_dir, out, args.files)
            if args.rules_command == "test":
                return cmd_test(
                    args.rule,
                    settings.rules_dir,
                    args.text,
                    out,
                    allow_private=settings.allow_private_feed_addresses,
                    user_agent=settings.user_agent,
                )
            file = args.file
            feeds = load_feeds_file(settings.feeds_file, settings.poll_interval_s)
            tags = {f.url: f.tags for f in feeds.feeds}  # so feed-tag-limited rules are judged

            async def backtest(st: Storage) -> int:
                marks = await st.feedback()  # "not relevant" from the chat (#16)
                return await cmd_backtest(file, st, out, feed_tags=tags, feedback=marks)

            return asyncio.run(_with_storage(settings, backtest))
        case "feeds":
            if args.feeds_command == "add":
                return asyncio.run(_feeds_add(settings, args.url))
            from bot.cli.feed_commands import cmd_feeds_list

            return asyncio.run(
                _with_storage(settings, lambda st: cmd_feeds_list(st, out, settings.tz))
            )
        case "db":
            from bot.cli.storage_commands import cmd_db_upgrade

            return asyncio.run(cmd_db_upgrade(settings.database_url, out))
        case "search":
            from bot.cli.storage_commands import cmd_search

            return asyncio.run(cmd_search(settings.database_url, args.words, out, args.limit))
        case "export":
            from bot.cli.storage_commands import cmd_export

            known = _rule_ids_in_files(settings) if args.rule else set()
            if args.output is None:
                return asyncio.run(
                    cmd_export(
                        settings.database_url,
                        out,
                        args.format,
                        args.start,
                        args.end,
                        args.rule,
                        known_rule_ids=known,
                        explain=_lazy_explainer(settings),
                    )
                )
            with args.output.open("w", encoding="utf-8", newline="") as target:
                return asyncio.run(
                    cmd_export(
                        settings.database_url,
                        target,
                        args.format,
                        args.start,
                        args.end,
                        args.rule,
                        known_rule_ids=known,
                        explain=_lazy_explainer(settings),
                    )
                )
        case "doctor":
            from bot.ops.doctor import run_doctor

            return asyncio.run(run_doctor(settings, out))
        case "stories":
            from bot.cli import story_commands

            if args.stories_command == "show":
                return asyncio.run(
                    _with_storage(
                        settings,
                        lambda s: story_commands.cmd_show(s, args.id, out, article=args.article),
                    )
                )
            if args.stories_command == "split":
                return asyncio.run(
                    _with_storage(
                        settings,
                        lambda s: story_commands.cmd_split(
                            s, args.article_id, datetime.now(UTC), out
                        ),
                    )
                )
            return story_commands.cmd_group(args.file, out, why=args.why)
    raise AssertionError(f"unhandled command {args.command}")


async def _with_storage(settings: Settings, command: Callable[[Storage], Awaitable[int]]) -> int:
    from storage.sql import SqlStorage

    storage = SqlStorage(settings.database_url)
    await storage.open()
    try:
        return await command(storage)
    finally:
        await storage.close()


async def _feeds_add(settings: Settings, url: str) -> int:
    from bot.cli.feed_commands import cmd_feeds_add
    from watchers.fetch import FeedFetcher

    return await cmd_feeds_add(
        url,
        settings.feeds_file,
        lambda: FeedFetcher(
            user_agent=settings.user_agent, allow_private=settings.allow_private_feed_addresses
        ),
        sys.stdout,
        allow_private=settings.allow_private_feed_addresses,
        default_interval_s=settings.poll_interval_s,
    )


if __name__ == "__main__":
    raise SystemExit(main())
