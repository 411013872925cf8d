"""A report version as one self-contained HTML page (images inlined as data URIs).

The page is rendered by Jinja2 from ``templates/report.html.j2`` with autoescaping on, so
patient names and impressions cannot inject markup. The intended-use warning opens the page.
"""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from report.content import ReportContent
from report.view import ReportImages, report_view

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_html(content: ReportContent, images: ReportImages) -> str:
    """The HTML page of ``content`` with ``images``."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        view=report_view(content),
        key_image=_b64(images.key_image) if images.key_image else None,
        heatmaps=[(label, _b64(png)) for label, png in sorted(images.heatmaps.items())],
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
