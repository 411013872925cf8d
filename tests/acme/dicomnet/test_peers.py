from __future__ import annotations

import pytest

from acme.dicomnet.peers import check_ae_title, parse_allow_list, permitted
from acme.errors import ConfigError
from acme.settings import load_settings


def test_entries_admit_their_title_from_their_network_only() -> None:
    peers = parse_allow_list(" ORTHANC@127.0.0.1, CT1@10.1.0.0/16 ,STORESCU,")
    assert [str(p) for p in peers] == ["ORTHANC@127.0.0.1/32", "CT1@10.1.0.0/16", "STORESCU"]
    assert permitted(peers, "ORTHANC", "127.0.0.1")
    assert not permitted(peers, "ORTHANC", "127.0.0.2")
    assert permitted(peers, "CT1 ", "10.1.200.3")
    assert not permitted(peers, "CT1", "10.2.0.1")
    assert permitted(peers, "STORESCU", "192.0.2.7")
    assert not permitted(peers, "orthanc", "127.0.0.1"), "AE titles are case-sensitive"
    assert not permitted(peers, "ORTHANC", "not-an-address")


def test_an_empty_list_admits_nobody() -> None:
    assert parse_allow_list("") == ()
    assert not permitted((), "ANY", "127.0.0.1")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A@host.example", "'A@host.example': 'host.example' is not an IP address"),
        ("BACK\\SLASH", "is not an AE title"),
        ("SEVENTEEN_CHARS_X", "is not an AE title"),
    ],
)
def test_a_bad_entry_names_itself(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_allow_list(value)
    with pytest.raises(ConfigError, match="ACME_DICOM_CALLING_AES"):
        load_settings(dicom_calling_aes=value)


def test_titles_are_stripped_and_blank_ones_refused() -> None:
    assert check_ae_title(" ACME  ") == "ACME"
    with pytest.raises(ValueError, match="is not an AE title"):
        check_ae_title("   ")
