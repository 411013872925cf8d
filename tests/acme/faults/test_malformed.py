"""1,000 malformed objects mixed into a round's 300 good instances.

Each bad object is quarantined (or recorded as a repeat of an earlier quarantine entry) and
leaves the inbox; the good studies are not held up and all reach ``reported``
(:mod:`fault_rounds`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_platform import FaultPlatform
from fault_rounds import Round, run_round

from acme.db import Pool

MALFORMED = 1000


def _nothing(_rnd: Round, _pool: Pool) -> None:
    """No fault but the bad objects themselves."""


@pytest.mark.timeout(600)  # 1,300 objects: under heavy load it has taken 270 s
def test_malformed_objects_among_good_ones(platform: FaultPlatform, tmp_path: Path) -> None:
    rnd = run_round(platform, tmp_path, "malformed", _nothing, malformed=MALFORMED)
    assert rnd.bad == MALFORMED
