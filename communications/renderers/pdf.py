"""PDF tickets and certificates with WeasyPrint.

Speed matters for certificate runs (thousands of pages), so the expensive, data-independent parts
are built once per process: the font configuration, the parsed stylesheet (one embedded font,
simple CSS) and the compiled templates. Many certificates go into ONE document and are split per
person afterwards (`split_pdf`): WeasyPrint's per-document overhead is paid once per chunk.
"""

import functools
import io
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import get_template
from django.utils import formats, translation
from django.utils.translation import gettext
from pypdf import PdfReader, PdfWriter
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .data import CertificateDoc, TicketDoc
from .qr import qr_png_data_uri

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DOCUMENTS = Path(settings.BASE_DIR) / "templates" / "documents"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


@functools.cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@functools.cache
def _stylesheet(name: str = "print.css") -> CSS:
    # One font file declared with @font-face: WeasyPrint then never asks fontconfig to match
    # fallback families, which is the main fixed cost of a small document.
    font = next((p for p in FONT_CANDIDATES if Path(p).exists()), None)
    face = (
        f'@font-face {{ font-family: "Doc"; src: url("{Path(font).as_uri()}"); }}\n' if font else ""
    )
    css = face + (DOCUMENTS / name).read_text(encoding="utf-8")
    return CSS(string=css, font_config=_font_config())


# Certificates and tickets use a handful of elements, but WeasyPrint's HTML5 user-agent
# stylesheet has hundreds of selectors that are matched against every element of every page:
# that cascade was the largest single cost of a certificate run and about a third of a ticket
# (profiled). This stylesheet covers exactly what documents/certificate.html and
# documents/ticket.html use; their own CSS sets every margin and font size.
LEAN_USER_AGENT_CSS = """
html, body, section, div, p, h1, dl, dt, dd { display: block }
head, meta, title, style, script { display: none }
br::before { content: "\\A"; white-space: pre-line }
img { overflow: hidden }
"""


@functools.cache
def _lean_user_agent() -> CSS:
    return CSS(string=LEAN_USER_AGENT_CSS, font_config=_font_config())


class _LeanHTML(HTML):
    # Overrides a private hook (stable since WeasyPrint 53); tests render and parse certificates,
    # so a change there shows up as a failing test, not as a silently different document.
    def _ua_stylesheets(self, forms=False):
        return [_lean_user_agent()]


def _when(starts_at, ends_at) -> dict:
    start = starts_at.astimezone(AMSTERDAM)
    end = ends_at.astimezone(AMSTERDAM)
    same_day = start.date() == end.date()
    return {
        "date": formats.date_format(start, "l j F Y"),
        "end_date": "" if same_day else formats.date_format(end, "l j F Y"),
        "start_time": formats.time_format(start, "H:i"),
        "end_time": formats.time_format(end, "H:i"),
        "same_day": same_day,
    }


def _write(html: str) -> bytes:
    return _LeanHTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
        stylesheets=[_stylesheet()], font_config=_font_config()
    )


def _ticket_pages(docs: Sequence[TicketDoc]) -> str:
    page = get_template("documents/ticket_page.html")
    parts = []
    for doc in docs:
        with translation.override(doc.language):
            context = {
                "t": doc,
                "when": _when(doc.starts_at, doc.ends_at),
                "qr": qr_png_data_uri(doc.secret),
            }
            parts.append({"language": doc.language, "html": page.render(context)})
    with translation.override(docs[0].language):
        title = f"{gettext('Ticket')} {docs[0].event_title}" if len(docs) == 1 else ""
        return get_template("documents/ticket.html").render(
            {"pages": parts, "language": docs[0].language, "title": title}
        )


def render_tickets_pdfs(docs: Sequence[TicketDoc]) -> list[bytes]:
    """Many A5 tickets laid out as one document, written as one PDF per ticket.

    The layout (templates, cascade, fonts) is done once for the batch; each ticket's PDF is then
    written from its own pages (`Document.copy`), so it carries only its own QR image and is the
    same size as a single render (a pypdf split would copy every page's images into each part).
    """
    if not docs:
        return []
    document = _LeanHTML(string=_ticket_pages(docs), base_url=str(settings.BASE_DIR)).render(
        stylesheets=[_stylesheet()], font_config=_font_config()
    )
    ranges = _page_ranges(document, "ticket-", len(docs))
    return [document.copy([document.pages[n] for n in pages]).write_pdf() for pages in ranges]


def render_ticket_pdf(doc: TicketDoc) -> bytes:
    """An A5 ticket in the attendee's language with a vector QR code of the ticket secret."""
    return _write(_ticket_pages([doc]))


def _page_ranges(document, prefix: str, count: int) -> list[range]:
    # Page ranges come from the anchors WeasyPrint places on each page, so an item that spills
    # onto a second page (a very long name) is still split correctly.
    starts: dict[int, int] = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith(prefix):
                starts.setdefault(int(anchor[len(prefix) :]), number)
    bounds = [starts[i] for i in range(count)] + [len(document.pages)]
    return [range(bounds[i], bounds[i + 1]) for i in range(count)]


def _certificate_context(doc: CertificateDoc) -> dict:
    return {"c": doc, "when": _when(doc.starts_at, doc.ends_at), "hours": _hours(doc.hours)}


def _hours(hours: float) -> str:
    return formats.number_format(hours, decimal_pos=1 if hours % 1 else 0)


def render_certificates_pdf(docs: Sequence[CertificateDoc]) -> tuple[bytes, list[range]]:
    """Render many certificates in one document; return the PDF and each one's page range.

    Page ranges come from the anchors WeasyPrint places on each page, so a certificate that
    spills onto a second page (a very long organisation name) is still split correctly.
    """
    page = get_template("documents/certificate.html")
    parts = []
    for doc in docs:
        with translation.override(doc.language):
            parts.append(page.render(_certificate_context(doc)))
    html = get_template("documents/certificates.html").render({"pages": parts})
    document = _LeanHTML(string=html, base_url=str(settings.BASE_DIR)).render(
        stylesheets=[_stylesheet("certificate.css")], font_config=_font_config()
    )
    return document.write_pdf(), _page_ranges(document, "cert-", len(docs))


def render_certificate_pdf(doc: CertificateDoc) -> bytes:
    pdf, _ranges = render_certificates_pdf([doc])
    return pdf


def split_pdf(pdf: bytes, ranges: Sequence[range]) -> list[bytes]:
    """One standalone PDF per page range (fonts are copied into each part)."""
    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for pages in ranges:
        writer = PdfWriter()
        for number in pages:
            writer.add_page(reader.pages[number])
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out
