"""The container health probe: exits 0 when ``/healthz`` answers 200, 1 otherwise.

Run by the Dockerfile's HEALTHCHECK as ``python -m bot.ops.health_probe`` (slim images have no
curl).
Reads ``NEWSWATCH_HEALTH_ADDR`` like the bot does and asks the loopback address when the bot
listens on every interface. Imports only the standard library so each probe starts fast. Does
not check readiness (the database or Telegram): a container is restarted only when the process
itself is stuck, not when a dependency is down.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_ADDR = "127.0.0.1:8080"
_ANY_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def probe_url(addr: str, path: str = "/healthz") -> str:
    """The URL to probe for a bot listening on ``addr`` (``host:port``)."""
    host, _, port = addr.strip().rpartition(":")
    if host in _ANY_HOSTS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}{path}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "/healthz"
    addr = os.environ.get("NEWSWATCH_HEALTH_ADDR", DEFAULT_ADDR)
    if not addr.strip():
        print("health endpoint disabled (NEWSWATCH_HEALTH_ADDR is empty)", file=sys.stderr)
        return 1
    url = probe_url(addr, path)
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            status = int(response.status)
    except urllib.error.HTTPError as e:
        status = e.code
    except (OSError, ValueError) as e:
        print(f"{url}: {e}", file=sys.stderr)
        return 1
    print(f"{url}: {status}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
