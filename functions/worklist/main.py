"""worklist: the clinicians' worklist and study views, DICOMweb (QIDO-RS, WADO-RS, STOW-RS)
under /function/worklist/dicomweb, and the change feed (:mod:`worklist.routes`)."""

from __future__ import annotations

from worklist.api import routes

from acme.http import http_function

api = http_function(routes)
