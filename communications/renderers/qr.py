"""QR codes for tickets, drawn as vector SVG so they stay sharp in print and cost no raster work."""

import base64
import io

import segno

# Medium error correction survives a crease or a scratched phone screen while keeping the
# symbol small enough for a ticket secret (32 characters) to fit a low version.
ERROR_LEVEL = "m"


def qr_code(data: str) -> segno.QRCode:
    return segno.make_qr(data, error=ERROR_LEVEL, boost_error=False)


def qr_svg(data: str, *, scale: int = 4) -> str:
    """An inline <svg> element (no XML declaration) that WeasyPrint and browsers embed directly."""
    return qr_code(data).svg_inline(
        scale=scale, border=4, dark="#000", light="#fff", omitsize=False
    )


def qr_png_data_uri(data: str) -> str:
    """A PNG with one pixel per module, as a data: URI for an <img> in a PDF.

    Drawn with `image-rendering: pixelated` (no interpolation) it prints exactly as sharp as the
    SVG, but WeasyPrint embeds it in well under a millisecond, where laying out and drawing the
    SVG path cost about 20 ms per ticket (profiled): most of a ticket's render time.
    """
    buffer = io.BytesIO()
    qr_code(data).save(buffer, kind="png", scale=1, border=4)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
