"""Problems found in rule files, located and formatted for people.

A problem prints as::

    config/rules/vietnam.yaml:12:24: unknown alias @uncls
        query: "UNCLOS OR @uncls"
                          ^
      hint: defined aliases: @unclos, @us

Locations come from PyYAML's node marks; an offset inside a scalar (a column in a query) is
mapped back to the file by aligning the scalar's value with its source text, which also works
for quoted, folded and multi-line values. Pure: formats text it is given, reads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from yaml.nodes import Node as YamlNode


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int  # 1-based
    col: int  # 1-based
    message: str
    hint: str = ""
    line_text: str | None = None

    def format(self) -> str:
        out = [f"{self.source}:{self.line}:{self.col}: {self.message}"]
        if self.line_text is not None:
            text = self.line_text.rstrip("\n").expandtabs(1)
            out.append("    " + text)
            out.append("    " + " " * (self.col - 1) + "^")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


class SourceText:
    """One rule file's text, with helpers to turn node marks and offsets into problems."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.lines = text.splitlines(keepends=True) or [""]
        self._line_starts = [0]
        for line in self.lines:
            self._line_starts.append(self._line_starts[-1] + len(line))

    def line_col(self, index: int) -> tuple[int, int]:
        """0-based char index -> 1-based (line, column)."""
        index = max(0, min(index, len(self.text)))
        lo, hi = 0, len(self.lines) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= index:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, index - self._line_starts[lo] + 1

    def problem_at(self, index: int, message: str, hint: str = "") -> Problem:
        line, col = self.line_col(index)
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return Problem(self.name, line, col, message, hint, text)

    def problem(self, node: YamlNode | None, message: str, hint: str = "") -> Problem:
        index = node.start_mark.index if node is not None else 0
        return self.problem_at(index, message, hint)

    def value_index(self, node: YamlNode, value: str, offset: int) -> int:
        """Char index in the file of ``value[offset]``, where ``value`` is the scalar's value."""
        src = self.text
        s = node.start_mark.index
        end = node.end_mark.index
        style = getattr(node, "style", None)
        if style in ('"', "'"):
            s += 1
        v = 0
        while v < offset and s < end:
            vc = value[v]
            sc = src[s]
            if vc == sc:
                v += 1
                s += 1
            elif vc.isspace() and sc.isspace():
                while s < end and src[s].isspace():
                    s += 1
                while v < offset and value[v].isspace():
                    v += 1
            else:
                s += 1  # quote, escape, block header or indentation: not part of the value
        # land on the character itself, past any indentation or escape in front of it
        if offset < len(value):
            want = value[offset]
            probe = s
            while probe < end and src[probe] != want and not want.isspace():
                if not (src[probe].isspace() or src[probe] in "\\|>-+'\""):
                    break
                probe += 1
            if probe < end and src[probe] == want:
                s = probe
        return min(s, max(end - 1, node.start_mark.index))

    def problem_in_value(
        self, node: YamlNode, value: str, offset: int, message: str, hint: str = ""
    ) -> Problem:
        return self.problem_at(self.value_index(node, value, offset), message, hint)
