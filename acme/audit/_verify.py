"""Check the whole chain and name the first row that is not as it was written.

Walking rows by id, row ``n`` must (1) be numbered ``n`` — a hole means rows were deleted;
(2) link to the hash of row ``n-1`` — otherwise a row was rewritten along with its hash, or
the link itself was altered; (3) hash to its stored hash — otherwise its content was changed.
Deleting the newest rows leaves a chain that is whole but shorter: only a head recorded
earlier, outside the database (``--head ID:HASH``), shows that; every verification reports
the current head so it can be recorded.
"""

from __future__ import annotations

import re
from contextlib import closing
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from acme.audit._chain import GENESIS_HASH, AuditRow
from acme.audit._store import READER_ROLE, iter_rows, transaction_as
from acme.db import Pool

Problem = Literal["missing", "relinked", "altered", "head-mismatch"]
_ANCHOR = re.compile(r"^(?P<id>[1-9][0-9]*):(?P<hash>[0-9a-f]{64})$")


class Anchor(BaseModel):
    """A head recorded earlier: row ``id`` had hash ``hash``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """``ID:HASH`` as :func:`verify_trail` reports a head; ValueError naming the form."""
        match = _ANCHOR.match(text.strip())
        if match is None:
            raise ValueError(f"expected ID:HASH (a row id, a colon, 64 hex digits), got {text!r}")
        return cls(id=int(match["id"]), hash=match["hash"])


class BrokenRow(BaseModel):
    """Where the chain breaks first, and what is wrong there."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(description="The first row that is missing or not as written.")
    problem: Problem
    detail: str


class Verification(BaseModel):
    """The outcome of :func:`verify_trail`."""

    model_config = ConfigDict(frozen=True)

    intact: bool
    rows: int = Field(description="Rows checked before the first break (all when intact).")
    head_id: int | None = Field(
        description="The last row checked (the head when intact): record it with head_hash."
    )
    head_hash: str | None
    broken: BrokenRow | None = None
    checked_at: datetime

    def summary(self) -> str:
        """One line for people: intact with its head, or the first broken row."""
        if self.broken is not None:
            return f"audit trail broken at row {self.broken.id}: {self.broken.detail}"
        if self.head_id is None:
            return "audit trail intact: empty"
        return f"audit trail intact: {self.rows} rows, head {self.head_id}:{self.head_hash}"


def verify_trail(pool: Pool, *, anchor: Anchor | None = None) -> Verification:
    """Walk the chain (as ``acme_audit_reader``) and report the first break, if any."""
    checked = 0
    last: AuditRow | None = None
    anchored_hash: str | None = None
    with transaction_as(pool, READER_ROLE) as conn, closing(iter_rows(conn)) as rows:
        for row in rows:
            broken = _check(row, last)
            if broken is not None:
                return _result(checked, last, broken)
            if anchor is not None and row.id == anchor.id:
                anchored_hash = row.hash
            checked += 1
            last = row
    return _result(checked, last, _check_anchor(anchor, last, anchored_hash))


def _check(row: AuditRow, last: AuditRow | None) -> BrokenRow | None:
    expected_id = last.id + 1 if last is not None else 1
    if row.id != expected_id:
        span = str(expected_id) if row.id == expected_id + 1 else f"{expected_id}-{row.id - 1}"
        after = f"row {last.id}" if last is not None else "the start of the trail"
        return BrokenRow(
            id=expected_id,
            problem="missing",
            detail=f"row(s) {span} are missing (deleted): row {row.id} follows {after}",
        )
    expected_prev = last.hash if last is not None else GENESIS_HASH
    if row.prev_hash != expected_prev:
        before = f"row {last.id}" if last is not None else "the genesis hash"
        return BrokenRow(
            id=row.id,
            problem="relinked",
            detail=(
                f"prev_hash {row.prev_hash[:16]}... is not the hash of {before} "
                f"({expected_prev[:16]}...): {before} was rewritten with a recomputed hash, "
                f"or row {row.id}'s link was altered"
            ),
        )
    recomputed = row.recomputed_hash()
    if recomputed != row.hash:
        return BrokenRow(
            id=row.id,
            problem="altered",
            detail=(
                f"its content no longer matches its hash (stored {row.hash[:16]}..., "
                f"recomputed {recomputed[:16]}...): it was changed after it was written"
            ),
        )
    return None


def _check_anchor(
    anchor: Anchor | None, last: AuditRow | None, anchored_hash: str | None
) -> BrokenRow | None:
    if anchor is None:
        return None
    if last is None or last.id < anchor.id:
        first = last.id + 1 if last is not None else 1
        return BrokenRow(
            id=first,
            problem="missing",
            detail=(
                f"row(s) {first}-{anchor.id} are missing (deleted): the recorded head is row "
                f"{anchor.id}, the trail ends at {f'row {last.id}' if last else 'nothing'}"
            ),
        )
    if anchored_hash != anchor.hash:
        return BrokenRow(
            id=anchor.id,
            problem="head-mismatch",
            detail=(
                f"its hash {str(anchored_hash)[:16]}... is not the recorded head's "
                f"{anchor.hash[:16]}...: the chain was rewritten from row {anchor.id} or earlier"
            ),
        )
    return None


def _result(checked: int, last: AuditRow | None, broken: BrokenRow | None) -> Verification:
    return Verification(
        intact=broken is None,
        rows=checked,
        head_id=last.id if last is not None else None,
        head_hash=last.hash if last is not None else None,
        broken=broken,
        checked_at=datetime.now(UTC),
    )
