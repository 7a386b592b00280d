"""Compiled rule sets cached on disk, keyed by the rule files' content. Does file I/O: the
only module of ``rules/`` that does (the engine and the compiler stay pure).

A cache file holds a rule set packed by ``rules.loader.pack`` (the parts the worker process
sends back), so loading it is the same part-by-part rebuild as after a compile in the
worker, without the compile: ~0.5–1 s for 100,000 rules instead of ~4 s.

The key (``cache_key``) is a SHA-256 over the engine's fingerprint and every source's name
and text, so any edit, a renamed file, another engine version (the bytes of the ``rules``
package's own files and of ``core/models.py``, the Python and Unicode versions) or the C
extensions being present or not gives another key, and the old file is simply not asked
for (the newest ``KEEP`` files are kept, older ones deleted).

Nothing read back is trusted blindly. A file is used only when

* the folder and the file belong to this process's user and nobody else may write them
  (the folder is created ``0o700``, files ``0o600``);
* it starts with ``MAGIC``, and the SHA-256 of its body, written in its header, matches;
* its body names the key asked for;
* it unpickles with ``SafeUnpickler``, which resolves only the engine's own data classes
  (no other global, so no code can be run from a forged file), and the rule set rebuilt
  from it passes the loader's consistency checks.

Otherwise the file is ignored with a log line (warning) and the rules are compiled as if
there were no cache; a cache that cannot be written (read-only folder, full disk) is logged
and skipped. The cache never decides whether rules are valid: a file is only written after
a successful compile.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import pickle
import stat
import sys
import tempfile
import time
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .normalize import FAST_FOLD
from .wordscan import WORD_SCANNER

__all__ = ["KEEP", "MAGIC", "RuleCache", "SafeUnpickler", "cache_key", "engine_fingerprint"]

log = logging.getLogger(__name__)

MAGIC = b"newswatch-rules-cache 1\n"
KEEP = 3  # newest cache files kept in the folder
SUFFIX = ".rules"
_DIGEST = 32  # bytes of SHA-256

# The only globals a packed rule set refers to (see ``rules.loader.pack``).
_ALLOWED = {
    "rules.engine": frozenset(
        {"CompiledRule", "Term", "Leaf", "RegexLeaf", "AllOf", "AnyOf", "Not", "Near"}
    ),
    "core.models": frozenset({"RuleInfo", "Priority", "DeliveryMode", "StoryMode"}),
    "array": frozenset({"array", "_array_reconstructor"}),
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the engine's data classes (rules, terms, expressions,
    rule infos and their enums) and ``array``: any other global is an error, so a forged
    pickle cannot call anything else. Does not check the values' consistency (the loader's
    ``unpack_parts`` does)."""

    def find_class(self, module: str, name: str) -> Any:
        if name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed here")


def safe_loads(data: bytes) -> Any:
    """``pickle.loads`` through ``SafeUnpickler``."""
    return SafeUnpickler(io.BytesIO(data)).load()


@functools.cache
def engine_fingerprint() -> str:
    """What a compiled set depends on besides its sources: the bytes of the rules package's
    files (sources and built extensions) and of ``core/models.py``, the Python and Unicode
    versions, and whether the C fold and word automaton are in use. Computed once."""
    digest = hashlib.sha256(MAGIC)
    package = Path(__file__).resolve().parent
    files = sorted(
        p for p in package.iterdir() if p.suffix in (".py", ".c", ".so", ".pyd") and p.is_file()
    )
    files.append(package.parent / "core" / "models.py")
    for path in files:
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    extra = f"{sys.version}|{unicodedata.unidata_version}|fold={FAST_FOLD}|words={WORD_SCANNER}"
    digest.update(extra.encode())
    return digest.hexdigest()


def cache_key(sources: Mapping[str, str]) -> str:
    """SHA-256 (hex) of the engine's fingerprint and every source's name and text, in order."""
    digest = hashlib.sha256(engine_fingerprint().encode())
    for name, text in sources.items():
        for piece in (name.encode("utf-8", "surrogatepass"), text.encode("utf-8", "surrogatepass")):
            digest.update(len(piece).to_bytes(8, "little"))
            digest.update(piece)
    return digest.hexdigest()


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (always true where there are no uids)."""
    if not hasattr(os, "geteuid"):
        return True
    return st.st_uid == os.geteuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class RuleCache:
    """Packed rule sets in ``folder``, one file per key. ``lookup`` and ``store`` do blocking
    file I/O (run them in a thread from an event loop); neither raises for a bad or missing
    cache: they log and behave as if there were none."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def lookup(self, sources: Mapping[str, str]) -> tuple[str, list[bytes] | None]:
        """(key of ``sources``, the packed parts cached for it or None)."""
        key = cache_key(sources)
        return key, self.load(key)

    def load(self, key: str) -> list[bytes] | None:
        """The packed parts stored for ``key``, or None (missing, or ignored: logged)."""
        path = self.path(key)
        try:
            folder_st = self.folder.stat()
            with path.open("rb") as f:
                file_st = os.fstat(f.fileno())
                if not (_private(folder_st) and _private(file_st)):
                    log.warning(
                        "rules cache %s ignored: the file or its folder is not this user's "
                        "alone (writable by others)",
                        path,
                    )
                    return None
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            log.warning("rules cache %s ignored: cannot read it (%s)", path, e.strerror or e)
            return None
        parts = self._decode(data, key)
        if parts is None:
            log.warning("rules cache %s ignored: not a valid cache file for these rules", path)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # the newest are kept: a file in use counts as new
        return parts

    @staticmethod
    def _decode(data: bytes, key: str) -> list[bytes] | None:
        head = len(MAGIC) + _DIGEST
        if len(data) < head or not data.startswith(MAGIC):
            return None
        body = memoryview(data)[head:]
        if hashlib.sha256(body).digest() != data[len(MAGIC) : head]:
            return None
        try:
            item = safe_loads(bytes(body))
        except Exception:  # a checksummed file we cannot read: treat as foreign
            return None
        if (
            not isinstance(item, tuple)
            or len(item) != 2
            or item[0] != key
            or not isinstance(item[1], list)
            or not all(isinstance(p, bytes) for p in item[1])
        ):
            return None
        return item[1]

    def store(self, key: str, parts: list[bytes]) -> bool:
        """Write ``parts`` for ``key`` (atomically: a temporary file renamed into place) and
        delete all but the newest ``KEEP`` cache files. False (logged) if it cannot."""
        body = pickle.dumps((key, parts), pickle.HIGHEST_PROTOCOL)
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(self.folder.stat()):
                log.warning("rules cache not written: %s is writable by others", self.folder)
                return False
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=SUFFIX)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(MAGIC)
                    f.write(hashlib.sha256(body).digest())
                    f.write(body)
                os.replace(tmp, self.path(key))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._prune()
        except OSError as e:
            log.warning("rules cache not written to %s: %s", self.folder, e.strerror or e)
            return False
        return True

    def _prune(self) -> None:
        entries: list[tuple[float, Path]] = []
        for p in self.folder.glob(f"*{SUFFIX}"):
            if p.name.startswith(".tmp-"):  # left by a write that died: gone after an hour
                with contextlib.suppress(OSError):
                    if p.stat().st_mtime < time.time() - 3600:
                        p.unlink()
                continue
            try:
                entries.append((p.stat().st_mtime, p))
            except OSError:
                continue
        entries.sort(reverse=True)
        for _, p in entries[KEEP:]:
            p.unlink(missing_ok=True)
