"""Where in the Analyst's SQL the warehouse's error points. A syntax error found while reading the
SQL is located in it directly; an error the warehouse raises is located in the statement as sent
(transpiled, tables qualified with the app's schema), which this maps back to the same word of the
Analyst's SQL: the rewrite keeps identifiers and their order, so the n-th occurrence of the word in
one is the n-th in the other. When the word cannot be found, the page shows the sent statement."""

from __future__ import annotations

import re
from dataclasses import dataclass

from clickstream_console.warehouse.query import QueryError, SqlPosition

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
# Characters of a long sent statement shown either side of the position.
_CONTEXT = 60


@dataclass(frozen=True)
class ErrorMark:
    line: int
    column: int
    # The SQL line the error is on, and a line with a caret under the column.
    text: str
    caret: str
    # True: line and column are in the Analyst's SQL; False: in the statement as sent.
    in_source: bool


def error_mark(error: QueryError, source: str) -> ErrorMark | None:
    """The error's place in ``source`` (the SQL as written) or, failing that, in the sent SQL."""
    if error.position is None:
        return None
    sent = error.sql or source
    if sent == source:
        return _mark(source, error.position, in_source=True)
    mapped = _same_word_in(source, sent, error.position)
    if mapped is not None:
        return _mark(source, mapped, in_source=True)
    return _mark(sent, error.position, in_source=False)


def _same_word_in(source: str, sent: str, position: SqlPosition) -> SqlPosition | None:
    offset = _offset(sent, position)
    if offset is None:
        return None
    word = _WORD.match(sent, offset)
    if word is None:
        return None
    wanted = word.group(0).lower()
    occurrence = sum(1 for found in _WORD.finditer(sent[:offset]) if found.group(0).lower() == wanted)
    matches = [found for found in _WORD.finditer(source) if found.group(0).lower() == wanted]
    if occurrence >= len(matches):
        return None
    start = matches[occurrence].start()
    line = source.count("\n", 0, start) + 1
    return SqlPosition(line=line, column=start - (source.rfind("\n", 0, start) + 1) + 1)


def _offset(sql: str, position: SqlPosition) -> int | None:
    lines = sql.split("\n")
    if not 1 <= position.line <= len(lines) or position.column < 1:
        return None
    return sum(len(line) + 1 for line in lines[: position.line - 1]) + min(position.column - 1, len(lines[position.line - 1]))


def _mark(sql: str, position: SqlPosition, *, in_source: bool) -> ErrorMark:
    lines = sql.split("\n")
    text = lines[position.line - 1] if 1 <= position.line <= len(lines) else ""
    column = min(position.column, len(text) + 1)
    start = 0
    if not in_source and len(text) > 2 * _CONTEXT:
        # The sent statement is one long line: show the part around the position.
        start = max(column - 1 - _CONTEXT, 0)
        text = text[start : column - 1 + _CONTEXT]
    return ErrorMark(line=position.line, column=position.column, text=text, caret=" " * (column - 1 - start) + "^", in_source=in_source)
