"""``acme samples`` and ``acme send`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from stackprocs import clean_env, run_acme

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

    first = run_acme("send", str(folder), str(single), env=env)
    second = run_acme("send", str(single), env=env)

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
    result = run_acme("send", str(tmp_path / "x.dcm"), env=_env(settings, tmp_path / "home"))
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
