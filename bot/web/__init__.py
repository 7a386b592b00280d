"""The web console for the desk: stories, search, rules with a live preview, feeds and trends.

Served by the same aiohttp server as ``/healthz`` (``bot.ops.http_health``): ``mount_console``
adds the console's routes and its access middleware to that application. Server-rendered Jinja2
pages with a little plain JavaScript (live validation, server-sent events); no build step.

Modules: ``auth`` (one-time login links, the env token, signed session cookies, CSRF, the access
middleware), ``render`` (templates, highlighting, error pages), ``app`` (wiring), one module per
page (``stories``, ``search``, ``rules_page``, ``feeds``, ``trends_page``) and ``query`` (rules
and searches run over stored articles). Does not send Telegram messages (``/web`` and the trend
alerts go through ``bot.delivery``) and does not edit files itself beyond the rule files it is
asked to save (feed edits go through the injected feed actions).
"""

from .app import ConsoleDeps, FeedActions, mount_console
from .auth import LoginLinks

__all__ = ["ConsoleDeps", "FeedActions", "LoginLinks", "mount_console"]
