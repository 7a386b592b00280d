"""The C word automaton of ``rules.wordscan`` (rules/_wordscan.c)."""

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
    ) -> None: ...
    def scan(self, norm: str, /) -> set[int]: ...
