"""Removing a test's buckets: SeaweedFS gives every bucket volumes of its own and has a
bounded number of them (free disk / volume size), so a session that left each test's buckets
behind would run out after about two hundred and answer every later put with a 500."""

from __future__ import annotations

from acme.settings import Settings
from acme.storage import make_s3_client


def drop_buckets(settings: Settings) -> list[str]:
    """Delete every bucket named with ``settings.bucket_prefix``, objects first; the names."""
    client = make_s3_client(settings)
    names = [
        b["Name"]
        for b in client.list_buckets().get("Buckets", [])
        if b["Name"].startswith(settings.bucket_prefix)
    ]
    pages = client.get_paginator("list_objects_v2")
    for name in names:
        for page in pages.paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=name)
    return names
