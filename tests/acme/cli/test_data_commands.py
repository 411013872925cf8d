"""``acme samples`` and ``acme send`` as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from dicom_ingest.ingest import ingest_object
from pydicom.data import get_testdata_file
from stackprocs import ACME, clean_env, run_acme

from acme.function import Context
from acme.settings import Settings
from acme.storage import S3ObjectStore, ensure_buckets, make_s3_client


def _env(settings: Settings, home: Path) -> dict[str, str]:
    assert settings.s3_url and settings.nats_url and settings.database_url and settings.redis_url
    return clean_env(
        ACME_HOME=str(home),
        ACME_S3_URL=settings.s3_url,
        ACME_NATS_URL=settings.nats_url,
        ACME_DATABASE_URL=settings.database_url,
        ACME_REDIS_URL=settings.redis_url,
        ACME_BUCKET_PREFIX=settings.bucket_prefix,
    )


def test_send_uploads_folders_under_unique_keys(settings: Settings, tmp_path: Path) -> None:
    ensure_buckets(make_s3_client(settings), settings.buckets.all())
    folder = tmp_path / "study"
    (folder / "series 1").mkdir(parents=True)
    (folder / "series 1" / "a.dcm").write_bytes(b"a" * 10)
    (folder / "b.dcm").write_bytes(b"b" * 20)
    (folder / ".DS_Store").write_bytes(b"hidden")
    single = tmp_path / "c.dcm"
    single.write_bytes(b"c" * 30)
    env = _env(settings, tmp_path / "home")

    first = run_acme("send", "--no-wait", str(folder), str(single), env=env)
    second = run_acme("send", "--no-wait", str(single), env=env)

    assert first.returncode == 0, first.stderr
    assert "sent 3 of 3 files" in first.stderr
    assert second.returncode == 0 and "sent 1 of 1 files" in second.stderr
    store = S3ObjectStore(make_s3_client(settings))
    keys = sorted(o.key for o in store.list(settings.buckets.inbox))
    assert len(keys) == 4, "the same file sent twice lands under two keys"
    assert sum(k.endswith("/study/series 1/a.dcm") for k in keys) == 1
    assert not any(".DS_Store" in k for k in keys)
    c_keys = [k for k in keys if k.endswith("/c.dcm")]
    assert [store.get(settings.buckets.inbox, k) for k in c_keys] == [b"c" * 30] * 2


def test_send_fails_loudly_when_uploads_fail(settings: Settings, tmp_path: Path) -> None:
    # no buckets exist for this test's prefix: every upload is refused
    (tmp_path / "x.dcm").write_bytes(b"x")
    result = run_acme(
        "send", "--no-wait", str(tmp_path / "x.dcm"), env=_env(settings, tmp_path / "home")
    )
    assert result.returncode == 1
    assert "sent 0 of 1 files" in result.stderr and "failed" in result.stderr


def test_send_names_a_missing_path(settings: Settings, tmp_path: Path) -> None:
    result = run_acme("send", str(tmp_path / "nope"), env=_env(settings, tmp_path / "home"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


def test_samples_writes_the_set(tmp_path: Path) -> None:
    result = run_acme("samples", str(tmp_path / "s"), "--ct-slices", "100", env=clean_env())
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "s" / "manifest.json").exists()
    assert len(list((tmp_path / "s" / "good" / "ct").glob("*.dcm"))) == 100


def _folder_to_send(tmp_path: Path) -> Path:
    folder = tmp_path / "upload"
    folder.mkdir()
    image = Path(str(get_testdata_file("CT_small.dcm", download=False))).read_bytes()
    (folder / "a.dcm").write_bytes(image)
    (folder / "b.dcm").write_bytes(image)  # the same image again: a duplicate
    (folder / "notes.txt").write_bytes(b"not an image")
    return folder


def test_send_waits_and_tells_what_became_of_each_file(settings: Settings, tmp_path: Path) -> None:
    ensure_buckets(make_s3_client(settings), settings.buckets.all())
    env = _env(settings, tmp_path / "home")
    proc = subprocess.Popen(
        [*ACME, "send", str(_folder_to_send(tmp_path)), "--timeout", "60"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    ctx = Context.open("dicom-ingest", settings)
    try:  # what dicom-ingest does on the running platform, one object at a time
        while proc.poll() is None:
            for info in sorted(ctx.store.list(settings.buckets.inbox), key=lambda o: o.key):
                ingest_object(ctx, info.bucket, info.key, None)
            time.sleep(0.2)
        keys = [o.key for o in ctx.store.list(settings.buckets.inbox)]
        with ctx.db.connection() as conn:
            row = conn.execute(
                "SELECT key FROM inbox_ledger WHERE key LIKE '%/upload/notes.txt'"
            ).fetchone()
    finally:
        ctx.close()
    _, stderr = proc.communicate()

    assert proc.returncode == 0, stderr
    assert keys == [], "the inbox is empty"
    assert re.search(r"archived\s*│\s*1", stderr), stderr
    assert re.search(r"duplicate\s*│\s*1", stderr)
    assert re.search(r"quarantined: not-dicom\s*│\s*1", stderr)
    assert "notes.txt: quarantined as not-dicom" in stderr
    assert row is not None
    key = str(row[0])

    shown = run_acme("status", "--object", key, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["key"] == key and status["waiting"] is False
    [entry] = status["entries"]
    assert entry["outcome"] == "quarantined"
    assert entry["quarantine"]["reason_code"] == "not-dicom"


def test_send_says_what_is_not_settled_when_it_stops_waiting(
    settings: Settings, tmp_path: Path
) -> None:
    ensure_buckets(make_s3_client(settings), settings.buckets.all())
    Context.open("dicom-ingest", settings).close()  # the schema, with nothing ingesting
    env = _env(settings, tmp_path / "home")

    result = run_acme("send", str(_folder_to_send(tmp_path)), "--timeout", "2", env=env)

    assert result.returncode == 1
    assert re.search(r"not settled after 2s\s*│\s*3", result.stderr), result.stderr
    unknown = run_acme("status", "--object", "never/sent.dcm", env=env)
    assert unknown.returncode == 1 and "no upload under 'never/sent.dcm'" in unknown.stderr
