"""The clinicians' web app end to end, in Chromium against the running platform.

A radiologist logs in, sees the sample studies, opens a chest X-ray (the image drawn), turns
the AI heatmap on (the pixels change), edits the impression and signs; the worklist shows it
signed; OHIF draws the same study; an auditor sees the sign-off in the study's audit trail;
the radiologist amends it.
A page without a login shows the login and no data; a technologist cannot sign. Every page
is checked with axe-core (WCAG 2.1 A and AA).
"""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from acme_platform import REPO
from numpy.typing import NDArray
from PIL import Image
from playwright.sync_api import BrowserContext, Locator, Page, Response, expect
from web_platform import Platform

pytestmark = pytest.mark.timeout(600)  # the platform starts and works the samples first

AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
SLOW = 90_000  # ms: the first image of a study waits for the function to start


def _login(page: Page, platform: Platform, user: str, *roles: str) -> None:
    page.goto(platform.url + "/")
    page.get_by_label("User").fill(user)
    for role in ("radiologist", "clinician", "technologist", "auditor", "admin"):
        page.get_by_role("checkbox", name=role).set_checked(role in roles)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("who")).to_contain_text(user)


def _axe(page: Page, what: str) -> None:
    """No WCAG 2.1 A/AA violation on the page (colour contrast included)."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values:"
        " ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})"
    )
    found = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]
    assert not found, f"{what}: {found}"


def _pixels(target: Locator) -> NDArray[np.int16]:
    return np.asarray(Image.open(BytesIO(target.screenshot())).convert("RGB"), dtype=np.int16)


def _colour(pixels: NDArray[np.int16]) -> float:
    """How colourful: the image is gray, the heat is not."""
    return float((pixels.max(axis=2) - pixels.min(axis=2)).mean())


def _drawn(target: Locator, *, within_ms: int = SLOW) -> NDArray[np.int16]:
    """The element's pixels once they show an image: not blank, with real contrast."""
    page = target.page
    waited = 0
    while True:
        pixels = _pixels(target)
        gray = pixels.mean(axis=2)
        if gray.std() > 20 and (gray > 40).mean() > 0.05:
            return pixels
        assert waited < within_ms, f"nothing drawn: mean {gray.mean():.1f}, std {gray.std():.1f}"
        page.wait_for_timeout(1000)
        waited += 1000


def _chest_xray(platform: Platform, *statuses: str) -> dict[str, Any]:
    """A reported chest X-ray with a positive finding (so a heatmap) whose report is in one of
    ``statuses``."""
    token = platform.token("picker", "radiologist")
    items = platform.get("/function/worklist/worklist?ai=positive", token).json()["items"]
    chosen = next(
        i for i in items if {"CR", "DX"} & set(i["modalities"]) and i["report_status"] in statuses
    )
    assert isinstance(chosen, dict)
    return chosen


def test_without_a_login_the_page_shows_the_login_and_no_data(
    browser: BrowserContext, platform: Platform
) -> None:
    page = browser.new_page()
    answers: list[Response] = []
    page.on("response", lambda r: answers.append(r) if "/function/" in r.url else None)
    study = platform.manifest.studies[0].study_uid
    for path in ("/", f"/study/{study}", "/audit"):
        page.goto(platform.url + path)
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        expect(page.locator("[data-testid=worklist]")).to_have_count(0)
    _axe(page, "login")
    assert all(a.status == 401 for a in answers), [(a.url, a.status) for a in answers]
    data = [
        "/function/worklist/worklist",
        "/function/worklist/worklist/latest",
        f"/function/worklist/studies/{study}",
        f"/function/worklist/dicomweb/studies/{study}/metadata",
        "/function/report/reports",
        "/function/audit/records",
    ]
    statuses = page.evaluate(
        "async (paths) => Promise.all(paths.map(async (p) => (await fetch(p)).status))", data
    )
    assert statuses == [401] * len(data)
    assert page.evaluate("() => sessionStorage.length") == 0


def test_a_radiologist_reviews_and_signs_and_an_auditor_sees_it(
    browser: BrowserContext, platform: Platform, artifacts: Path
) -> None:
    page = browser.new_page()
    _login(page, platform, "dr.house", "radiologist")

    # the worklist: every sample study, live
    rows = page.locator("[data-testid=worklist] tbody tr")
    for study in platform.manifest.studies:
        expect(rows.and_(page.locator(f"[data-study='{study.study_uid}']"))).to_have_count(1)
    page.screenshot(path=artifacts / "worklist.png")
    _axe(page, "worklist")

    # a chest X-ray: the image drawn
    chosen = _chest_xray(platform, "preliminary")
    uid = chosen["study_uid"]
    page.locator(f"tr[data-study='{uid}']").get_by_role("link").click()
    viewport = page.get_by_test_id("viewport")
    expect(viewport).to_have_attribute("data-drawn", "yes", timeout=SLOW)
    plain = _drawn(viewport)
    expect(page.get_by_test_id("intended-use")).to_contain_text("NOT FOR DIAGNOSTIC USE")
    _axe(page, "study")

    # the heatmap over it: the pixels change (colour where the model looked), then back
    page.get_by_label("Show heatmap").check()
    page.wait_for_function(
        "() => { const c = document.querySelector('[data-testid=overlay]');"
        " return c && c.width > 0 && c.getContext('2d').getImageData(0, 0, c.width, c.height)"
        ".data.some((v, i) => i % 4 === 3 && v > 0); }",
        timeout=SLOW,
    )
    heated = _pixels(viewport)
    assert _colour(heated) > _colour(plain) + 2, (_colour(plain), _colour(heated))
    assert np.abs(heated - plain).max(axis=2).mean() > 2
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=artifacts / "viewer-overlay.png")
    page.get_by_label("Show heatmap").uncheck()
    page.wait_for_timeout(500)
    assert np.abs(_pixels(viewport) - plain).max(axis=2).mean() < 1

    # edit the impression and sign
    impression = page.get_by_label("Impression")
    impression.fill("Right upper zone opacity. Reviewed and signed in the browser test.")
    page.get_by_role("button", name="Sign report").click()
    expect(page.get_by_test_id("report-state")).to_have_text("final", timeout=SLOW)
    expect(page.get_by_test_id("versions")).to_contain_text("Version 2: final")
    expect(page.get_by_role("button", name="Sign report")).to_have_count(0)
    expect(page.get_by_role("button", name="Amend report")).to_be_visible()
    preview = page.frame_locator("iframe.preview")  # the signed version's own HTML form
    expect(preview.get_by_text("Reviewed and signed in the browser test.")).to_be_visible()
    page.screenshot(path=artifacts / "signed-report.png", full_page=True)
    _axe(page, "signed report")

    # the worklist shows it signed
    page.get_by_role("link", name="Back to the worklist").click()
    row = page.locator(f"tr[data-study='{uid}']")
    expect(row).to_have_attribute("data-state", "signed", timeout=SLOW)
    expect(row.get_by_test_id("report-status")).to_have_text("final")

    # OHIF draws the same study, with the same login
    page.locator(f"tr[data-study='{uid}']").get_by_role("link").click()
    page.get_by_role("link", name="Open in OHIF").click()
    page.wait_for_url("**/viewer/viewer?StudyInstanceUIDs=*")
    canvas = page.locator("canvas.cornerstone-canvas").first
    expect(canvas).to_be_visible(timeout=SLOW)
    _drawn(canvas)
    assert "token=" not in page.url  # OHIF took it from the address
    page.screenshot(path=artifacts / "ohif.png")

    # an auditor sees the sign-off in the study's trail
    auditor = browser.new_page()  # a tab of its own: its own sessionStorage, no login
    _login(auditor, platform, "a.udit", "auditor")
    auditor.goto(f"{platform.url}/audit?study={uid}")
    signed = auditor.locator(
        "[data-testid=audit] tbody tr[data-type='org.acme.imaging.report.signed']"
    )
    expect(signed).to_have_count(1, timeout=SLOW)
    expect(signed).to_contain_text("dr.house")
    _axe(auditor, "audit trail")

    # the radiologist amends the signed report: a third version, with the reason
    page.goto(f"{platform.url}/study/{uid}")
    page.get_by_label("Impression").fill("Right upper zone opacity, unchanged on review.")
    page.get_by_label("Reason for the amendment").fill("Wording corrected")
    page.get_by_role("button", name="Amend report").click()
    expect(page.get_by_test_id("report-state")).to_have_text("amended", timeout=SLOW)
    expect(page.get_by_test_id("versions")).to_contain_text("Version 3: amended")
    expect(page.get_by_test_id("versions")).to_contain_text("Wording corrected")


def test_a_technologist_cannot_sign(browser: BrowserContext, platform: Platform) -> None:
    page = browser.new_page()
    _login(page, platform, "t.ech", "technologist")
    uid = _chest_xray(platform, "preliminary", "final", "amended")["study_uid"]
    page.locator(f"tr[data-study='{uid}']").get_by_role("link").click()
    expect(page.get_by_test_id("viewport")).to_have_attribute("data-drawn", "yes", timeout=SLOW)
    expect(page.get_by_role("button", name="Sign report")).to_have_count(0)
    token = json.loads(page.evaluate("() => sessionStorage.getItem('acme.session')"))
    report = _report_id(platform, uid)
    answer = page.evaluate(
        "async ([path, token]) => { const r = await fetch(path, {method: 'POST', headers:"
        " {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},"
        " body: JSON.stringify({impression: 'signed by a technologist'})});"
        " return [r.status, await r.json()]; }",
        [f"/function/report/reports/{report}/sign", token["access_token"]],
    )
    assert answer[0] == 403 and answer[1]["error"] == "forbidden", answer


def test_ct_slices_window_and_zoom_by_keyboard_and_mouse(
    browser: BrowserContext, platform: Platform
) -> None:
    page = browser.new_page()
    _login(page, platform, "c.linician", "clinician")
    ct = next(s for s in platform.manifest.studies if s.modality == "CT")
    page.locator(f"tr[data-study='{ct.study_uid}']").get_by_role("link").click()
    viewport = page.get_by_test_id("viewport")
    expect(viewport).to_have_attribute("data-drawn", "yes", timeout=SLOW)
    status = page.locator(".viewer-status")
    expect(status).to_have_text(f"Slice {ct.instances // 2 + 1} of {ct.instances}", timeout=SLOW)
    before = _drawn(viewport)
    image = page.get_by_role("application")
    image.press("PageDown")
    image.press("ArrowDown")
    expect(status).to_have_text(f"Slice {ct.instances // 2 + 3} of {ct.instances}")
    page.get_by_role("button", name="Lung").click()
    page.wait_for_timeout(500)
    lung = _pixels(viewport)
    assert np.abs(lung - before).mean() > 5  # another window: other grays
    image.press("+")
    page.wait_for_timeout(500)
    zoomed = _pixels(viewport)
    assert np.abs(zoomed - lung).mean() > 2  # zoomed
    box = viewport.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 60, steps=8)
    page.mouse.up()
    page.wait_for_timeout(500)
    assert np.abs(_pixels(viewport) - zoomed).mean() > 2  # window/level by drag
    expect(page.get_by_role("button", name="Sign report")).to_have_count(0)


def _report_id(platform: Platform, uid: str) -> str:
    token = platform.token("picker", "radiologist")
    detail = platform.get(f"/function/worklist/studies/{uid}", token).json()
    report = detail["study"]["report_id"]
    assert isinstance(report, str)
    return report
