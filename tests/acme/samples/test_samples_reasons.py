"""The bad corpus speaks the contract's vocabulary of quarantine reason codes."""

from __future__ import annotations

import re

from acme.events.values import REJECT_REASON_PATTERN
from acme.samples import SampleManifest


def test_every_expected_reason_is_a_contract_reason_code(manifest: SampleManifest) -> None:
    pattern = re.compile(REJECT_REASON_PATTERN)
    reasons = {f.expected_reason for f in manifest.bad()}
    assert reasons, "the corpus has bad files"
    for reason in reasons:
        assert reason is not None and pattern.match(str(reason)), reason
