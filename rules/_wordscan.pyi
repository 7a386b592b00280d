"""The C word automaton of ``rules.wordscan`` (rules/_wordscan.c)."""

from collections.abc import Callable

from typing_extensions import Buffer

class WordAutomaton:
    def __init__(
        self,
        words: list[str],
        goto: Buffer,
        fail: Buffer,
        out_pid: Buffer,
        out_next: Buffer,
        prefixes: list[tuple[int, str, int]],
        prefix_link: Buffer,
        n_pattern_words: int = -1,
    ) -> None: ...
    def scan(self, norm: str, /) -> set[int]: ...
    def scan_words(self, norm: str, /) -> tuple[set[int], bytes]: ...

def has_words(ids: Buffer, seq: Buffer, /) -> bool: ...
def fields_with_words(ids_per_field: list[bytes] | tuple[bytes, ...], seq: Buffer, /) -> int: ...
def locate_words(ids: Buffer, seq: Buffer, field: int, /) -> list[tuple[int, int, int, int]]: ...
def gather(
    keys: set[int] | frozenset[int],
    table: dict[int, tuple[int, ...]] | list[tuple[int, ...] | int | None],
    out: set[int],
    /,
) -> None: ...
def near_words(
    ids_per_field: list[bytes] | tuple[bytes, ...],
    fields: int,
    seq_a: Buffer,
    seq_b: Buffer,
    distance: int,
    /,
) -> bool: ...
def eval_plans(
    candidates: set[int],
    plans: dict[int, tuple[tuple[int, int, bool], ...]],
    union: set[int],
    seen: tuple[set[int], ...],
    ids: tuple[bytes, ...] | None,
    seqs: dict[int, bytes],
    fields_of: Callable[[int], int],
    fired: set[int],
    /,
) -> list[int]: ...
