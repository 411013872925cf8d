from __future__ import annotations

import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless, RLELossless

from acme.dicomnet.contexts import sop_classes, supported_contexts, transfer_syntaxes
from acme.errors import ConfigError

CR = "1.2.840.10008.5.1.4.1.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


def test_the_default_groups_cover_what_the_functions_decode() -> None:
    syntaxes = transfer_syntaxes("uncompressed,jpeg2000,jpegls,jpeg-lossless,rle")
    for uid in (JPEG2000Lossless, JPEGLSLossless, JPEGLosslessSV1, RLELossless,
                "1.2.840.10008.1.2", "1.2.840.10008.1.2.1"):  # fmt: skip
        assert uid in syntaxes
    assert "1.2.840.10008.1.2.4.50" not in syntaxes, "lossy JPEG baseline only when named"


def test_sop_classes_by_keyword_uid_or_all_storage() -> None:
    assert sop_classes("CTImageStorage, 1.2.840.10008.5.1.4.1.1.1") == (CT, CR)
    storage = sop_classes("storage")
    assert CR in storage and CT in storage and len(storage) > 100


def test_verification_is_always_supported() -> None:
    contexts = supported_contexts((CR,), ("1.2.840.10008.1.2.1",))
    assert [str(c.abstract_syntax) for c in contexts] == ["1.2.840.10008.1.1", CR]


@pytest.mark.parametrize(
    ("call", "setting"),
    [
        (lambda: transfer_syntaxes("jpeg3000"), "ACME_DICOM_TRANSFER_SYNTAXES"),
        (lambda: transfer_syntaxes(CR), "ACME_DICOM_TRANSFER_SYNTAXES"),
        (lambda: sop_classes("NoSuchStorage"), "ACME_DICOM_SOP_CLASSES"),
        (lambda: sop_classes("1.2.840.10008.1.2"), "ACME_DICOM_SOP_CLASSES"),
    ],
)
def test_bad_names_are_config_errors(call: object, setting: str) -> None:
    with pytest.raises(ConfigError, match=setting):
        call()  # type: ignore[operator]
