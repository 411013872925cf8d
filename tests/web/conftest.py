"""The web app in Debian's Chromium against the running platform (``acme up``), with the
sample studies sent and worked through: Playwright drives /usr/bin/chromium, never a browser
of its own. Screenshots go to ``test-artifacts/web/`` (``ACME_TEST_ARTIFACTS`` to move it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from acme_platform import REPO, running_platform, wait_until
from playwright.sync_api import BrowserContext, Playwright, sync_playwright
from web_platform import Platform

from acme.db import make_pool
from acme.demo import final_states
from acme.inbox import batch_prefix, send_files
from acme.samples import MIN_CT_SLICES, SampleManifest, write_samples
from acme.settings import Settings
from acme.stack.state import read_state
from acme.storage import S3ObjectStore, make_s3_client
from acme.studies import study_summaries

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FUNCTIONS = "dicom-ingest,infer-cxr,report,report-events,audit,audit-events,worklist"


def _all_reached(settings: Settings, targets: dict[str, str]) -> bool:
    pool = make_pool(settings, application_name="web-test")
    try:
        studies = study_summaries(pool, list(targets))
    finally:
        pool.close()
    return all(uid in studies and studies[uid].reached(t) for uid, t in targets.items())


@pytest.fixture(scope="session")
def built_web_app() -> Path:
    index = REPO / "web" / "dist" / "index.html"
    if not index.is_file() or not (REPO / "web" / "dist" / "viewer" / "index.html").is_file():
        pytest.fail("the web app is not built: run `make web` (make test builds it)")
    return index.parent


@pytest.fixture(scope="module")
def platform(built_web_app: Path) -> Iterator[Platform]:
    """The platform with the sample chest X-rays and one CT sent: the X-rays reported, the CT
    complete (infer-ct is not deployed: the browser tests need no CT result)."""
    home = Path(tempfile.mkdtemp(prefix="acme-web-test-"))
    extra = {"ACME_FUNCTIONS": FUNCTIONS, "ACME_WEB_DIR": str(built_web_app)}
    try:
        with ThreadPoolExecutor(1) as writer:  # the samples are written while the platform starts
            samples = writer.submit(
                write_samples, home / "samples", seed=13, ct_slices=MIN_CT_SLICES
            )
            with running_platform(home / "home", extra=extra) as settings:
                yield _with_samples(settings, home / "samples", samples.result())
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _with_samples(settings: Settings, folder: Path, written: SampleManifest) -> Platform:
    """Send the chest X-rays and one CT of ``written`` and wait until they are worked through."""
    state = read_state(settings.home)
    assert state is not None and state.gateway_url
    ct = next(s for s in written.studies if s.expected_pipeline == "ct")
    chosen = [s for s in written.studies if s.expected_pipeline == "cxr" or s == ct]
    manifest = written.model_copy(update={"studies": chosen})
    uids = {s.study_uid for s in chosen}
    files = [
        (folder / f.path, Path(f.path))
        for f in written.good()
        if f.study_uid in uids and f.materialised
    ]
    store = S3ObjectStore(make_s3_client(settings))
    sent = send_files(store, settings.buckets.inbox, files, prefix=batch_prefix())
    assert not sent.failed and len(files) >= len(chosen)
    targets = final_states(manifest, set(FUNCTIONS.split(",")))
    wait_until(lambda: _all_reached(settings, targets), 300, "the sample studies")
    return Platform(settings=settings, url=state.gateway_url, manifest=manifest)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("ACME_TEST_ARTIFACTS", REPO / "test-artifacts")) / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    """A fresh Chromium profile per test: no login, cache or storage carried over."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=FLAGS,
        viewport={"width": 1400, "height": 1000},
    )
    try:
        yield context
    finally:
        context.close()
