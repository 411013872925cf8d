"""infra/minio: MinIO's NATS target agrees with the bucket-events adapter's settings."""

from __future__ import annotations

import re

from manifests import INFRA, REPO, documents

from acme.settings import Settings

MINIO = REPO / "infra" / "minio"


def _env() -> dict[str, str]:
    lines = (MINIO / "minio.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_target_publishes_on_the_adapter_subject_with_jetstream() -> None:
    env = _env()
    subject = Settings.model_fields["minio_subject"].default
    (config,) = documents(INFRA / "base" / "config.yaml")
    assert config["data"]["ACME_MINIO_SUBJECT"] == subject == env["MINIO_NOTIFY_NATS_SUBJECT_ACME"]
    assert config["data"]["ACME_BUCKET_EVENTS_TRANSPORT"] == "minio"
    assert env["MINIO_NOTIFY_NATS_ENABLE_ACME"] == env["MINIO_NOTIFY_NATS_JETSTREAM_ACME"] == "on"
    nats = config["data"]["ACME_NATS_URL"].removeprefix("nats://")
    assert env["MINIO_NOTIFY_NATS_ADDRESS_ACME"] == nats
    assert all(key.endswith("_ACME") for key in env)


def test_the_mc_steps_configure_the_same_target_for_dicom_inbox() -> None:
    script = (MINIO / "setup.sh").read_text()
    assert "SUBJECT=${ACME_MINIO_SUBJECT:-minio.bucket-events}" in script
    assert re.search(
        r'mc event add .*"\$ALIAS/\$BUCKET" arn:minio:sqs::ACME:nats --event put', script
    )
    assert "BUCKET=${ACME_BUCKET_PREFIX:-}dicom-inbox" in script
    assert 'jetstream="on"' in script
