from __future__ import annotations

from pathlib import Path

import pytest

from acme.dicomnet.destinations import DicomwebDestination, DimseDestination, load_destinations
from acme.errors import ConfigError

GOOD = """
destinations:
  pacs: {type: dimse, host: 10.1.2.3, port: 104, ae_title: PACS, send_on: [drafted, signed]}
  web:
    type: dicomweb
    url: https://pacs.example/dicom-web
    username: acme
    password_file: /run/secrets/pacs
    send_on: [signed]
    key_object: encapsulated-pdf
"""


def test_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text(GOOD)
    loaded = load_destinations(path)
    assert isinstance(loaded.named("pacs"), DimseDestination)
    web = loaded.named("web")
    assert isinstance(web, DicomwebDestination) and web.key_object == "encapsulated-pdf"
    assert loaded.sending_on("drafted") == ["pacs"]
    assert loaded.sending_on("signed") == ["pacs", "web"]
    assert load_destinations(None).destinations == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("destinations: {p: {type: ftp, send_on: [signed]}}", "does not match any of the expected"),
        ("destinations: {p: {type: dimse, host: h, port: 104, ae_title: A, send_on: [signed],"
         " colour: red}}", "'destinations.p.dimse.colour': Extra inputs are not permitted"),
        ("destinations: {p: {type: dimse, host: h, port: 104, ae_title: A, send_on: []}}",
         "send_on"),
        ("destinations: {P: {type: dimse, host: h, port: 104, ae_title: A, send_on: [signed]}}",
         "destinations.P"),
        ("destinations: {w: {type: dicomweb, url: 'https://x', username: u, send_on: [signed]}}",
         "username and password_file go together"),
        ("destinations: [", "not valid YAML"),
    ],
)  # fmt: skip
def test_mistakes_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="ACME_DESTINATIONS_FILE") as caught:
        load_destinations(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_an_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text(GOOD)
    with pytest.raises(ConfigError, match=r"no destination named 'nope' \(configured: pacs, web\)"):
        load_destinations(path).named("nope")
