"""The feed-parser worker process: ``python -m watchers.parse_worker``.

Reads length-prefixed pickled requests ``(body, url, content_type, feed_name, base_url)`` from
stdin and answers each with a length-prefixed pickled ``("ok", ParsedFeed)`` or
``("error", message)`` on stdout. Exits when stdin closes, which also happens when the parent
dies, so a killed bot never leaves a worker behind. Imports only what parsing needs.
"""

from __future__ import annotations

import pickle
import struct
import sys
from typing import IO

from core.errors import FeedError
from watchers.parse import parse_feed

HEADER = struct.Struct("!I")


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One frame, or None at a clean end of stream."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    while (frame := read_frame(inp)) is not None:
        body, url, content_type, feed_name, base_url = pickle.loads(frame)
        try:
            answer: tuple[str, object] = (
                "ok",
                parse_feed(body, url, content_type, feed_name, base_url=base_url),
            )
        except FeedError as e:
            answer = ("error", str(e))
        except Exception as e:  # a parser bug must answer, not kill the worker
            answer = ("error", f"feed parser failed: {type(e).__name__}: {e}")
        write_frame(out, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def main() -> None:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must never corrupt the protocol stream
    serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
