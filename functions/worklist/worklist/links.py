"""Where the worklist's resources are, as clients reach them through the gateway.

``ACME_PUBLIC_URL``, when set, is the gateway's address as clients know it. Otherwise the
gateway says how it was reached (``X-Forwarded-Proto``, ``-Host`` and ``-Prefix``, which it
writes itself). A host that is not a plain host name or address is not used: the links are
then server-relative (``/function/worklist/dicomweb/...``), which browsers and OHIF resolve.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

DICOMWEB: Final = "/dicomweb"
"""The DICOMweb base below the function's path: /function/worklist/dicomweb."""

_HOST: Final = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
_PREFIX: Final = re.compile(r"^(?:/[A-Za-z0-9._-]{1,64}){1,4}$")


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "").split(",")[0].strip()


def function_root(headers: Mapping[str, str], function: str, public: str | None = None) -> str:
    """``scheme://host/function/<name>``, or ``/function/<name>`` without a usable host."""
    prefix = _header(headers, "x-forwarded-prefix")
    if not _PREFIX.match(prefix):
        prefix = f"/function/{function}"
    if public:
        return f"{public}{prefix}"
    host = _header(headers, "x-forwarded-host")
    proto = _header(headers, "x-forwarded-proto").lower()
    if _HOST.match(host) and proto in ("http", "https"):
        return f"{proto}://{host}{prefix}"
    return prefix


def dicomweb_root(headers: Mapping[str, str], function: str, public: str | None = None) -> str:
    """The DICOMweb base URL (see :data:`DICOMWEB`)."""
    return function_root(headers, function, public) + DICOMWEB


def study_url(root: str, study: str) -> str:
    return f"{root}/studies/{study}"


def series_url(root: str, study: str, series: str) -> str:
    return f"{study_url(root, study)}/series/{series}"


def instance_url(root: str, study: str, series: str, sop: str) -> str:
    return f"{series_url(root, study, series)}/instances/{sop}"
