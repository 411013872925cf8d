"""The report HTTP API through a test client: roles, every form, sign/amend with If-Match."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from types import ModuleType
from typing import Any

import flask
from fhir.resources.R4B.bundle import Bundle
from jetstream import published
from pydicom import dcmread

from acme.auth import ensure_local_key, mint_token, policy_from_settings
from acme.events import EventType
from acme.function import Context
from acme.http import HttpApi, dispatcher_for

OpenContext = Callable[..., Context]


class Client:
    """Calls the report API as the gateway would, with tokens of the local issuer."""

    def __init__(self, ctx: Context, routes: HttpApi) -> None:
        self.ctx = ctx
        self.dispatch = dispatcher_for(routes, policy_from_settings(ctx.settings))

    def token(self, *roles: str, user: str = "dr.who") -> str:
        return "Bearer " + mint_token(self.ctx.settings, user=user, roles=roles)

    def __call__(
        self, method: str, path: str, role: str | None = "radiologist", **options: Any
    ) -> flask.Response:
        headers = dict(options.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = self.token(role)
        with flask.Flask("t").test_request_context(path, method=method, headers=headers, **options):
            return self.dispatch(self.ctx, flask.request)


def test_clinicians_read_and_radiologists_sign_and_amend_over_http(
    open_context: OpenContext, drafted: Any, main: Callable[[str], ModuleType]
) -> None:
    report_id, study_uid = drafted.report_id, drafted.study_uid
    ensure_local_key(drafted.ctx.settings)
    call = Client(open_context("report"), main("report").routes)
    base = f"/reports/{report_id}"

    assert call("GET", "/reports", role=None).status_code == 401
    assert call("GET", "/reports", role="technologist").status_code == 403
    assert call("POST", f"{base}/sign", role="clinician", json={"version": 1}).status_code == 403
    listed = call("GET", "/reports", role="clinician", query_string={"study": study_uid})
    assert listed.status_code == 200
    assert [r["report_id"] for r in listed.get_json()["reports"]] == [str(report_id)]
    bad = call("GET", "/reports", query_string={"status": "draft"})
    assert (bad.status_code, bad.get_json()["error"]) == (422, "invalid-query")
    assert call("GET", "/reports/00000000-0000-0000-0000-000000000000").status_code == 404

    detail = call("GET", base, role="clinician").get_json()
    assert detail["report"]["status"] == "preliminary" and detail["current"]["version"] == 1
    links = detail["versions"][0]["links"]
    assert links["pdf"] == f"/function/report{base}/versions/1/report.pdf"
    forms = {
        name: call("GET", f"{base}/versions/1/{name}", role="clinician")
        for name in ("report.fhir.json", "report.sr.dcm", "report.html", "report.pdf")
    }
    assert {n: r.status_code for n, r in forms.items()} == dict.fromkeys(forms, 200)
    assert forms["report.pdf"].mimetype == "application/pdf"
    assert forms["report.pdf"].data.startswith(b"%PDF-")
    assert forms["report.html"].mimetype == "text/html" and b"NOT FOR DIAGNOSTIC USE" in (
        forms["report.html"].data
    )
    Bundle.model_validate_json(forms["report.fhir.json"].data)
    assert dcmread(BytesIO(forms["report.sr.dcm"].data)).Modality == "SR"

    # Sign at the version reviewed (If-Match); the same request again is stale: 409.
    sign = {"impression": "Right upper lobe opacity."}
    signed = call("POST", f"{base}/sign", json=sign, headers={"If-Match": '"1"'})
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["version"]["status"] == "final"
    assert signed.get_json()["content"]["signature"]["user"] == "dr.who"
    again = call("POST", f"{base}/sign", json=sign, headers={"If-Match": '"1"'})
    assert (again.status_code, again.get_json()["error"]) == (409, "version-conflict")
    assert call("POST", f"{base}/sign", json={}).status_code == 428  # no version named
    blank = call("POST", f"{base}/sign", json={"version": 2, "impression": "  "})
    assert (blank.status_code, blank.get_json()["error"]) == (422, "invalid-body")
    assert call("POST", f"{base}/amend", json={"version": 2}).status_code == 422  # no reason

    amend = {"version": 2, "impression": "No opacity.", "reason": "Skin fold, not opacity."}
    amended = call("POST", f"{base}/amend", json=amend)
    assert amended.status_code == 200 and amended.get_json()["version"]["version"] == 3
    stale = call("POST", f"{base}/amend", json=amend)
    assert stale.status_code == 409
    versions = call("GET", base).get_json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [
        (1, "preliminary"),
        (2, "final"),
        (3, "amended"),
    ]
    first = call("GET", f"{base}/versions/1").get_json()
    assert first["content"]["status"] == "preliminary"
    assert call("GET", f"{base}/versions/4").status_code == 404

    signed_events = published(call.ctx.settings, EventType.REPORT_SIGNED)
    assert [e.data["status"] for e in signed_events] == ["final", "amended"]
    access = published(call.ctx.settings, EventType.ACCESS_RECORDED)
    assert {e.data["outcome"] for e in access} == {"success", "denied"}
    signing = [e.data for e in access if e.data["resource"].endswith("/sign")]
    assert [(d["outcome"], d["study_uid"]) for d in signing] == [
        ("denied", None),  # the clinician: refused before the report was looked up
        ("success", study_uid),
        ("success", study_uid),  # the stale second click: answered 409, recorded
        ("success", study_uid),  # no version named: 422
        ("success", None),  # a blank impression: 422 before the handler ran
    ]

    doc = call("GET", "/openapi.json", role=None).get_json()
    operations = [op for item in doc["paths"].values() for op in item.values()]
    assert len(operations) == 9 and all(op["x-acme-phi"] for op in operations)
    assert {op["x-acme-permission"] for op in operations} == {
        "reports:read",
        "reports:sign",
        "reports:amend",
    }
