#!/usr/bin/env bash
# dicom-inbox notifications to NATS JetStream, with the MinIO client (mc).
#
#   MINIO_URL=https://minio.example MINIO_ACCESS_KEY=... MINIO_SECRET_KEY=... infra/minio/setup.sh
#
# Either set the variables of minio.env on the MinIO server (then skip step 1), or let step 1
# write the same settings into MinIO's configuration. Idempotent; re-run after a change.
set -euo pipefail
ALIAS=${MINIO_ALIAS:-acme}
NATS_ADDRESS=${NATS_ADDRESS:-nats.nats.svc.cluster.local:4222}
SUBJECT=${ACME_MINIO_SUBJECT:-minio.bucket-events}
BUCKET=${ACME_BUCKET_PREFIX:-}dicom-inbox

mc alias set "$ALIAS" "$MINIO_URL" "$MINIO_ACCESS_KEY" "$MINIO_SECRET_KEY"

# 1. the NATS target (id ACME), JetStream on, a disk queue for when NATS is unreachable
mc admin config set "$ALIAS" notify_nats:ACME \
  address="$NATS_ADDRESS" subject="$SUBJECT" jetstream="on" \
  queue_dir="/export/.minio-notify/acme" queue_limit="100000"
mc admin service restart "$ALIAS"

# 2. the inbox bucket, and its object-created notifications to that target
mc mb --ignore-existing "$ALIAS/$BUCKET"
mc event add --ignore-existing "$ALIAS/$BUCKET" arn:minio:sqs::ACME:nats --event put
mc event list "$ALIAS/$BUCKET"
