"""QIDO-RS matching (PS3.4 C.2.2.2, PS3.18 8.3.4) as SQL conditions.

- single value: equal (Patient Name without regard to case);
- wildcard: ``*`` any run of characters, ``?`` one character (LIKE, escaped);
- UID list: UIDs separated by ``\\`` or ``,``;
- range: dates ``YYYYMMDD-YYYYMMDD``, ``-YYYYMMDD``, ``YYYYMMDD-`` (compared as DICOM DA text,
  so a bound need not be a calendar day);
- empty value: universal matching (every entity matches).

``fuzzymatching=true`` matches names by any part (``*value*``), ignoring case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

_LIST_SEPARATOR: Final = re.compile(r"[\\,]")
_LIKE_SPECIAL: Final = re.compile(r"([\\%_])")


@dataclass
class Conditions:
    """SQL conditions joined by AND, with their parameters (psycopg ``%s`` placeholders)."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"

    def text(self, column: str, value: str | None, *, ignore_case: bool = False) -> None:
        """Single value or wildcard matching of a text attribute."""
        if not value:
            return
        compare = f"lower({column})" if ignore_case else column
        wanted = value.lower() if ignore_case else value
        if "*" in wanted or "?" in wanted:
            self.add(f"{compare} LIKE %s ESCAPE '\\'", like_pattern(wanted))
        else:
            self.add(f"{compare} = %s", wanted)

    def name(self, column: str, value: str | None, *, fuzzy: bool) -> None:
        """Person Name matching: without regard to case; any part of the name when fuzzy."""
        if not value:
            return
        self.text(column, f"*{value.strip('*')}*" if fuzzy else value, ignore_case=True)

    def uids(self, column: str, value: str | None) -> None:
        """UID list matching."""
        if not value:
            return
        wanted = [uid for uid in _LIST_SEPARATOR.split(value) if uid]
        self.add(f"{column} = ANY(%s)", wanted)

    def codes(self, column: str, value: str | None) -> None:
        """A code string, or a list of them (``CT\\MR``)."""
        if not value:
            return
        wanted = [code for code in _LIST_SEPARATOR.split(value) if code]
        self.add(f"{column} = ANY(%s)", wanted)

    def date_range(self, column: str, value: str | None) -> None:
        """DA single value or range matching, on the date as YYYYMMDD text."""
        if not value:
            return
        as_text = f"to_char({column}, 'YYYYMMDD')"
        low, dash, high = value.partition("-")
        if not dash:
            self.add(f"{as_text} = %s", low)
            return
        if low:
            self.add(f"{as_text} >= %s", low)
        if high:
            self.add(f"{as_text} <= %s", high)

    def number(self, column: str, value: int | None) -> None:
        if value is not None:
            self.add(f"{column} = %s", value)


def like_pattern(value: str) -> str:
    """A DICOM wildcard value as a LIKE pattern (``\\``, ``%`` and ``_`` escaped)."""
    escaped = _LIKE_SPECIAL.sub(r"\\\1", value)
    return escaped.replace("*", "%").replace("?", "_")
