"""The worklist's one :class:`~acme.http.HttpApi`; each module of the package adds its routes.

    /worklist, /studies/...          the clinicians' worklist and study views (JSON, images)
    /dicomweb/...                    DICOMweb: QIDO-RS, WADO-RS, STOW-RS (PS3.18)
    /changes, /changes/latest        the change feed

Served by the gateway at /function/worklist/...; the DICOMweb base URL is
/function/worklist/dicomweb. Invalid queries are answered 400 naming the parameter (as
PS3.18 asks), unknown UIDs 404, an Accept that cannot be served 406.
"""

from __future__ import annotations

from acme.http import HttpApi

DESCRIPTION = """\
The clinicians' worklist, DICOMweb (base URL `/function/worklist/dicomweb`: QIDO-RS, WADO-RS,
STOW-RS) and the change feed.

**Change feed.** `GET /changes?since=SEQ&limit=N` answers the entries after sequence `SEQ`, in
order; `GET /changes/latest` the newest. One entry per instance stored or rejected, series
completed, inference completed or failed, report drafted, signed or amended (`action`; an
amended signature is `report.amended`, its type `org.acme.imaging.report.signed`). Sequence
numbers are 1, 2, 3... with no gap, in the order the changes committed; an entry never changes
and is never removed, so a consumer resumes from the last sequence it processed and receives
exactly the rest, across restarts of either side. `data` is the event's data (schemas in
`events/`).
"""

routes = HttpApi(
    "worklist",
    title="Worklist, DICOMweb and change feed",
    invalid_query=400,
    description=DESCRIPTION,
)
