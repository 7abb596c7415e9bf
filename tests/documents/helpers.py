"""Helpers for document tests: real PDF text extraction and real QR decoding."""

import io

from pypdf import PdfReader


def pdf_pages(content: bytes) -> list[str]:
    assert content.startswith(b"%PDF-")
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]


def pdf_text(content: bytes) -> str:
    # Text extraction may break lines anywhere; compare on single-spaced text.
    return " ".join(" ".join(pdf_pages(content)).split())


def decode_qr_codes(content: bytes, *, scale: float = 3.0) -> list[str]:
    """Rasterise every page (PDFium) and decode every QR code on it (zxing-cpp)."""
    import pypdfium2
    import zxingcpp

    found = []
    document = pypdfium2.PdfDocument(content)
    for page in document:
        image = page.render(scale=scale).to_pil()
        found += [r.text for r in zxingcpp.read_barcodes(image) if r.format.name == "QRCode"]
    return found
