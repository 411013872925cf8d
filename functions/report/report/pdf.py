"""A report version as a one- or two-page A4 PDF, drawn with fpdf2 (pure Python).

The same words as the HTML page (:mod:`report.view`): a red "NOT FOR DIAGNOSTIC USE" banner
and the intended use first, patient and study, the findings table, the impression and
signature, the key image and heatmaps. The PDF's core fonts cover Latin-1 only: other
characters (e.g. a patient name in another script) are transliterated where Unicode allows
and replaced by ``?`` otherwise; the HTML and FHIR forms keep them as written.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from io import BytesIO

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from report.content import ReportContent
from report.view import ReportImages, ReportView, report_view

_RED = (176, 0, 0)
_IMAGE_WIDTH = 88.0  # mm: two images side by side on A4 within the margins
_NO_DECOMPOSITION = str.maketrans(
    {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "Ŋ": "N", "ŋ": "n"}
)
"""Latin letters NFKD does not reduce to ASCII."""


def latin1(text: str) -> str:
    """``text`` in the core fonts' Latin-1: accents kept, other scripts transliterated or ?."""
    out = []
    for char in text.translate(_NO_DECOMPOSITION):
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


class _Document:
    def __init__(self, issued: datetime) -> None:
        self.pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_creation_date(issued)
        self.pdf.set_creator("Acme Imaging Functions")
        self.pdf.add_page()

    def line(self, text: str, *, size: float = 10, bold: bool = False, height: float = 5) -> None:
        self.pdf.set_font("Helvetica", "B" if bold else "", size)
        self.pdf.multi_cell(0, height, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        self.pdf.ln(2)
        self.line(text, size=12, bold=True, height=7)

    def banner(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_fill_color(*_RED)
        pdf.set_text_color(255, 255, 255)
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 12, latin1(text), fill=True, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.set_fill_color(255, 255, 255)
        pdf.ln(2)

    def boxed(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*_RED)
        pdf.set_line_width(0.6)
        pdf.set_font("Helvetica", "B", 9)
        pdf.multi_cell(0, 5, latin1(text), border=1, padding=2, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.2)

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        self.pdf.set_font("Helvetica", "", 9)
        headings = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
        with self.pdf.table(
            first_row_as_headings=True, line_height=6, headings_style=headings
        ) as table:
            for values in (header, *rows):
                row = table.row()
                for value in values:
                    row.cell(latin1(value))

    def images(self, images: list[tuple[str, bytes]]) -> None:
        pdf = self.pdf
        for index, (caption, png) in enumerate(images):
            column = index % 2
            if column == 0 and pdf.get_y() + _IMAGE_WIDTH + 10 > pdf.h - pdf.b_margin:
                pdf.add_page()
            top = pdf.get_y()
            x = pdf.l_margin + column * (_IMAGE_WIDTH + 4)
            info = pdf.image(BytesIO(png), x=x, y=top, w=_IMAGE_WIDTH)
            pdf.set_xy(x, top + float(info.rendered_height) + 1)
            pdf.set_font("Helvetica", "", 8)
            pdf.cell(_IMAGE_WIDTH, 4, latin1(caption))
            if column == 1 or index == len(images) - 1:
                pdf.set_xy(pdf.l_margin, top + float(info.rendered_height) + 7)
            else:
                pdf.set_xy(pdf.l_margin, top)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _body(doc: _Document, view: ReportView) -> None:
    if view.warning:
        doc.banner(view.warning)
    doc.line(view.title, size=16, bold=True, height=8)
    doc.line(view.status, size=11, bold=True)
    for use in view.intended_use:
        doc.boxed(use)
    doc.heading("Patient and study")
    for name, value in (*view.patient, *view.study):
        doc.line(f"{name}: {value}", size=9, height=4.5)
    for warning in view.identity_warnings:
        doc.boxed(warning)
    doc.heading("Series")
    doc.table(
        ("Series", "Modality", "Pipeline", "AI result"),
        [(r.series, r.modality, r.pipeline, r.result) for r in view.series],
    )
    for note in view.notes:
        doc.line(note, size=9, bold=True)
    if view.qa:
        doc.heading("CT quality assurance (water phantom)")
        doc.line(view.qa_verdict or "", bold=True)
        doc.table(
            ("Measurement", "Value", "Tolerance", "Result"),
            [(r.item, r.value, r.tolerance, r.result) for r in view.qa],
        )
    doc.heading("Findings")
    doc.table(
        ("Finding", "Code", "Probability", "Threshold", "Result", "Model"),
        [(r.label, r.code, r.probability, r.threshold, r.result, r.model) for r in view.findings],
    )
    doc.heading("Impression")
    doc.line(view.impression)
    if view.amendment:
        doc.line(view.amendment, size=9)
    if view.signature:
        doc.line(view.signature, bold=True)


def render_pdf(content: ReportContent, images: ReportImages) -> bytes:
    """The PDF of ``content`` with ``images`` (see the module docstring)."""
    view = report_view(content)
    doc = _Document(content.issued)
    doc.pdf.set_title(latin1(f"{view.title} - {view.status}"))
    _body(doc, view)
    pictures = [("Key image", images.key_image)] if images.key_image else []
    pictures += [(f"Heatmap: {label}", png) for label, png in sorted(images.heatmaps.items())]
    if pictures:
        doc.heading("Images")
        doc.images(pictures)
    doc.line(view.footer + (f" - {view.warning}" if view.warning else ""), size=7)
    return doc.output()
