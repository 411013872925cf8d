"""The one table of codes: a label's code from the card, the table, or the private scheme."""

from __future__ import annotations

import pytest
from report import codes
from report.codes import Code, finding_code

from acme.events import Coding


def test_a_label_is_coded_from_the_card_then_the_table_then_the_private_scheme() -> None:
    card = Coding(system="http://snomed.info/sct", code="233604007", display="Pneumonia")
    assert finding_code("Airspace disease", card) == Code("SCT", "233604007", "Pneumonia")
    assert finding_code("Pleural_Effusion") == Code("SCT", "60046008", "Pleural effusion")
    assert finding_code("Effusion") == finding_code("pleural effusion")
    assert finding_code("Weird Thing #2") == Code("99ACME", "weird-thing-2", "Weird Thing #2")
    unknown_system = Coding(system="http://example.org/codes", code="X1", display="X")
    assert finding_code("Mass", unknown_system) == Code("SCT", "4147007", "Mass")


def test_a_code_round_trips_through_the_finding_coding() -> None:
    for code in (codes.PRESENT, finding_code("Mass"), finding_code("Weird Thing #2")):
        assert Code.of(code.coding()) == code
    with pytest.raises(ValueError, match="not one the reports know"):
        Code.of(Coding(system="http://example.org/codes", code="X1", display="X"))


def test_every_code_has_a_fhir_system_and_only_hl7_codes_stay_out_of_the_sr() -> None:
    table = [value for value in vars(codes).values() if isinstance(value, Code)]
    table += [*codes.FINDING_CODES.values(), *codes.PROCEDURES.values()]
    assert all(code.system.startswith(("http://", "urn:")) for code in table)
    assert {c.scheme for c in table if not c.is_dicom} == {"HL7-0074", "HL7-OBSCAT", "HL7-INTERP"}
    assert codes.modality_code("CR") == Code("DCM", "CR", "Computed Radiography")


def test_a_code_names_a_known_scheme() -> None:
    with pytest.raises(ValueError, match="scheme 'SNOMED'"):
        Code("SNOMED", "1", "x")
