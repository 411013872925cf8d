"""The platform against LocalStack: a chest X-ray put into its S3 goes all the way to reported.

LocalStack (S3 and SQS, no Docker) holds every bucket; ``dicom-inbox`` notifies an SQS queue;
``acme up`` runs with ``ACME_S3_URL`` pointing at LocalStack and the SQS transport. The inbox
sweep is held off (an hour's grace), so the instance can only arrive by its notification.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from acme_platform import running_platform, wait_until
from click.testing import CliRunner
from jetstream import published
from localstack import CREDENTIALS, QUEUE, REGION, prepare_inbox, running_localstack
from routing import fast_routing

from acme.cli.main import cli
from acme.db import make_pool
from acme.events import EventType
from acme.samples import MANIFEST_NAME, SampleManifest
from acme.settings import Settings

pytestmark = pytest.mark.localstack


def _state(settings: Settings, study_uid: str) -> str | None:
    pool = make_pool(settings, application_name="test")
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "SELECT state FROM studies WHERE study_uid = %s", (study_uid,)
            ).fetchone()
    finally:
        pool.close()
    return None if row is None else str(row[0])


def test_a_chest_xray_put_into_localstack_s3_is_reported(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    written = CliRunner().invoke(cli, ["samples", str(samples)])
    assert written.exit_code == 0, written.output
    manifest = SampleManifest.model_validate_json((samples / MANIFEST_NAME).read_text())
    study = next(s for s in manifest.studies if s.description.startswith("CHEST PA (REAL FILM"))
    film = next(f for f in manifest.files if f.study_uid == study.study_uid and f.materialised)

    with running_localstack(tmp_path / "localstack") as url:
        clients = {"endpoint_url": url, "region_name": REGION, **CREDENTIALS}
        s3, sqs = boto3.client("s3", **clients), boto3.client("sqs", **clients)
        extra = prepare_inbox(url) | {
            "ACME_FUNCTIONS": "dicom-ingest,infer-cxr,report-events",
            "ACME_ROUTING_FILE": str(fast_routing(tmp_path)),
            "ACME_TICK_SECONDS": "1",
            "ACME_INBOX_GRACE_SECONDS": "3600",
        }
        with running_platform(tmp_path / "home", extra=extra) as settings:
            key = f"modality-1/{Path(film.path).name}"
            s3.put_object(Bucket="dicom-inbox", Key=key, Body=(samples / film.path).read_bytes())
            took = wait_until(
                lambda: _state(settings, study.study_uid) == "reported", 240, "reported"
            )
            notified = published(settings, "com.amazonaws.s3.ObjectCreated:Put")
            assert [e["subject"] for e in notified] == [key]
            assert notified[0]["source"] == f"aws:s3.{REGION}.dicom-inbox"
            (stored,) = published(settings, EventType.INSTANCE_STORED)
            assert stored.data["study_uid"] == study.study_uid
            assert published(settings, EventType.REPORT_DRAFTED)
        archived = s3.list_objects_v2(Bucket="dicom-archive")["Contents"]
        assert [o["Key"] for o in archived] == [
            f"studies/{study.study_uid}/series/{study.series_uid}/{film.sop_uid}.dcm"
        ]
        assert s3.list_objects_v2(Bucket="dicom-inbox").get("KeyCount") == 0
        results = [o["Key"] for o in s3.list_objects_v2(Bucket="results").get("Contents", [])]
        assert any(study.study_uid in k for k in results), results
        queue = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        left = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages", [])
        assert not [m for m in left if "ObjectCreated" in m["Body"]], "notification not consumed"
    print(f"\nLocalStack: put to reported in {took:.1f}s")
