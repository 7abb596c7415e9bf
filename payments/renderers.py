"""The invoice / credit note PDF. `render_invoice_pdf` loads the data (one thin read);
`invoice_pdf_render` is pure: plain data in, PDF bytes out."""

from pathlib import Path

from django.template.loader import render_to_string
from django.utils import translation

from .models import Invoice
from .selectors import invoice_document_data

STYLESHEET = Path(__file__).resolve().parent / "static" / "payments" / "invoice.css"


def render_invoice_pdf(invoice_id: int) -> bytes:
    invoice = Invoice.objects.select_related("registration__event", "original").get(pk=invoice_id)
    return invoice_pdf_render(invoice_document_data(invoice=invoice))


def invoice_pdf_render(data: dict) -> bytes:
    from weasyprint import CSS, HTML  # heavy import, only where a PDF is made

    with translation.override(data.get("language") or "nl"):
        html = render_to_string("payments/invoice.html", {"invoice": data})
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])
