from __future__ import annotations

from dicomfiles import fresh_cxr, part10

from acme.dicomnet.checks import CANNOT_UNDERSTAND, DOES_NOT_MATCH, SUCCESS, check_instance


def test_a_whole_matching_instance_passes_with_its_series() -> None:
    ds = fresh_cxr()
    verdict = check_instance(
        part10(ds), sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID
    )
    assert (verdict.status, verdict.keep) == (SUCCESS, True)
    assert (verdict.study_uid, verdict.series_uid) == (ds.StudyInstanceUID, ds.SeriesInstanceUID)


def test_cut_or_garbage_data_cannot_be_understood_but_is_kept() -> None:
    ds = fresh_cxr()
    data = part10(ds)
    meta_end = 144 + int.from_bytes(data[140:144], "little")  # after (0002,0000) and its group
    for broken in (data[: len(data) // 2], data[:meta_end] + b"\xff" * 64):
        verdict = check_instance(
            broken, sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID
        )
        assert (verdict.status, verdict.keep) == (CANNOT_UNDERSTAND, True), verdict


def test_another_instance_than_requested_is_refused_and_not_kept() -> None:
    ds = fresh_cxr()
    verdict = check_instance(part10(ds), sop_class_uid=ds.SOPClassUID, sop_instance_uid="1.2.3")
    assert (verdict.status, verdict.keep) == (DOES_NOT_MATCH, False)
    assert len(verdict.comment_lo) <= 64
