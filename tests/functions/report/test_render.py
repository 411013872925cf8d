"""HTML and PDF: the same findings table and warning, images included, PDF renders to a page."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from report.content import ReportContent, ReportedSeries
from report.html import render_html
from report.pdf import latin1, render_pdf
from report.view import ReportImages, report_view

MakeContent = Callable[..., ReportContent]


class _Page(HTMLParser):
    """The rows of the findings table, the alert text and the image sources of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.alert = ""
        self.images: list[str] = []
        self._in_table = self._in_alert = self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id") == "findings":
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._in_cell = True
            self.rows[-1].append("")
        elif tag == "div" and found.get("role") == "alert":
            self._in_alert = True
        elif tag == "img":
            self.images.append(found.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th"):
            self._in_cell = False
        elif tag == "div":
            self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.rows[-1][-1] += data
        if self._in_alert:
            self.alert += data


def test_the_html_page_reads_back_as_the_view(
    make_content: MakeContent, images: ReportImages
) -> None:
    content = make_content(impression="<script>alert(1)</script> opacity")
    page = _Page()
    html = render_html(content, images)
    page.feed(html)
    view = report_view(content)
    header, *rows = page.rows
    assert header == ["Finding", "Code", "Probability", "Threshold", "Result", "Model"]
    assert rows == [
        [r.label, r.code, r.probability, r.threshold, r.result, r.model] for r in view.findings
    ]
    assert rows[0] == ["Lung Opacity", "DCM 112033", "91.0 %", "50.0 %", "POSITIVE",
                       "cxr-synthetic 1.0.0"]  # fmt: skip
    assert page.alert == "NOT FOR DIAGNOSTIC USE"
    assert html.index("NOT FOR DIAGNOSTIC USE") < html.index("Findings")  # it opens the page
    assert "Müller Anna Maria" in html and "<script>alert" not in html  # escaped
    assert len(page.images) == 2 and all(
        s.startswith("data:image/png;base64,") for s in page.images
    )


def test_the_pdf_renders_a_page_with_the_warning_findings_and_images(
    make_content: MakeContent, images: ReportImages, tmp_path: Path
) -> None:
    content = make_content()
    pdf = render_pdf(content, images)
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    page = document[0]
    text = page.get_textpage().get_text_range()
    for expected in ("NOT FOR DIAGNOSTIC USE", "Lung Opacity", "91.0 %", "POSITIVE",
                     "Pleural Effusion", "cxr-synthetic 1.0.0", "Müller Anna Maria",
                     "Demonstration only", "Key image", "Heatmap: Lung Opacity"):  # fmt: skip
        assert expected in text, expected
    bitmap = page.render(scale=1).to_pil().convert("L")
    bitmap.save(tmp_path / "page-1.png")
    pixels = np.asarray(bitmap)
    assert pixels.shape[0] > 800 and pixels.std() > 20  # a page, not blank
    assert (pixels < 64).mean() > 0.02  # dark film and text cover some of it
    red = np.asarray(page.render(scale=1).to_pil().convert("RGB"))[:60]
    assert ((red[..., 0] > 150) & (red[..., 1] < 40)).mean() > 0.1  # the red banner on top
    document.close()


def test_text_outside_latin1_is_transliterated_not_lost() -> None:
    assert latin1("Ærø Łódź 山田") == "Ærø Lódz ??"


def test_a_pdf_without_images_still_renders(make_content: MakeContent) -> None:
    pdf = render_pdf(make_content(key_image_key=None), ReportImages())
    document = pdfium.PdfDocument(BytesIO(pdf))
    assert len(document) == 1
    document.close()


def test_a_pending_series_and_an_identity_conflict_are_shown_in_html_and_pdf(
    make_content: MakeContent, images: ReportImages
) -> None:
    base = make_content()
    ct = ReportedSeries(series_uid="1.2.3.9", modality="CT", pipeline="ct", outcome="pending")
    content = make_content(series=(*base.series, ct), patient_conflicts=("name", "sex"))
    expected = (
        "PRELIMINARY, INCOMPLETE - a series has no AI result yet",
        "Pending: CT series 1.2.3.9 (ct) has no AI result yet.",
        "Patient record conflict: the name differs between images filed under this patient.",
        "Patient record conflict: the sex differs",
    )
    html = render_html(content, images)
    for text in expected:
        assert text in html, text
    assert '<td class="pending">PENDING</td>' in html
    assert "PENDING" not in render_html(base, images)
    document = pdfium.PdfDocument(render_pdf(content, images))
    text = " ".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    for line in expected:
        assert " ".join(line.split()) in " ".join(text.split()), line
