"""A lean MIME writer for the outbox sender: rendered parts in, the bytes for SMTP out.

Django's EmailMultiAlternatives builds a tree of email.mime objects and flattens it with the
compat32 generator, which re-parses and re-folds every header of every part: about a millisecond
per confirmation mail (profiled), a tenth of the sender's CPU. The outbox always sends the same
shape, so this writes it directly:

    multipart/mixed                 (only when there are attachments)
      multipart/alternative
        text/plain; charset="utf-8"
        text/html; charset="utf-8"
      <attachments: text/* as text, everything else base64>

Headers follow what Django writes (same names, same RFC 2047 encoding of non-ASCII words via
email.header, addresses through django.core.mail.message.sanitize_address, a header containing a
line break is refused with BadHeaderError). Text parts are 7bit/8bit like Django's, or
quoted-printable when a line is longer than SMTP allows. `tests/mail/test_mime.py` parses this
output and Django's for the same mails and compares them.
"""

import base64
import binascii
import random
from email.header import Header
from email.utils import encode_rfc2231, formataddr, formatdate

from django.conf import settings
from django.core.mail import BadHeaderError
from django.core.mail.message import sanitize_address

CRLF = b"\r\n"
# RFC 5322 2.1.1: a line must not be longer than 998 characters (excluding CRLF).
MAX_LINE = 998
_boundary_random = random.SystemRandom()


def _header_value(name: str, value: str, *, text: bool = False) -> str:
    if "\n" in value or "\r" in value:
        raise BadHeaderError(f"Header values can't contain newlines (got {value!r} for {name!r})")
    # Free `text` (the subject) that merely looks like an encoded word ("=?utf-8?q?...?=") is
    # encoded itself: written as it is, clients would decode it and show something else.
    literal = text and "=?" in value
    if value.isascii() and len(value) < MAX_LINE - len(name) - 2 and not literal:
        return value
    # Non-ASCII (or absurdly long): encoded words, folded, as Django does.
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def address_header(name: str, email: str) -> str:
    """`Name <address>` with the name encoded as needed and the domain in punycode.

    sanitize_address refuses a line break in the name or address, then folds a long encoded
    name with "\\n "; unfolded here (RFC 5322 unfolding: drop the line break, keep the space),
    so a legitimate long non-ASCII name is one header line, not a refused header.
    """
    header = sanitize_address((name, email), "utf-8")
    if "=?" in name and name.isascii():
        # As for a subject: a name that looks like an encoded word is encoded, shown as written.
        header = formataddr((Header(name, "utf-8").encode(), envelope_address(email)))
    return header.replace("\n", "")


def envelope_address(email: str) -> str:
    """The bare address for MAIL FROM / RCPT TO (punycoded domain)."""
    return sanitize_address(("", email), "utf-8")


def _normalise_lines(data: bytes) -> bytes:
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data.replace(b"\n", CRLF)


def _long_lines(data: bytes) -> bool:
    return len(data) > MAX_LINE and any(len(line) > MAX_LINE for line in data.split(b"\n"))


def _text_part(content_type: str, data: bytes) -> tuple[list[str], bytes]:
    """Headers and body of a text part (data is UTF-8)."""
    if _long_lines(data):
        # Lines SMTP would break: quoted-printable (soft line breaks), as Django does then.
        normalised = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        body = _normalise_lines(binascii.b2a_qp(normalised, istext=True))
        encoding = "quoted-printable"
    else:
        body = _normalise_lines(data)
        encoding = "7bit" if data.isascii() else "8bit"
    headers = [f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {encoding}"]
    return headers, body


def _content_type(mimetype: str) -> tuple[str, str, list[tuple[str, str]]]:
    """'text/calendar; charset=utf-8; method=REQUEST' -> ('text', 'calendar', [params])."""
    main, *raw_params = (part.strip() for part in mimetype.split(";"))
    maintype, _, subtype = main.lower().partition("/")
    params = []
    for raw in raw_params:
        key, _, value = raw.partition("=")
        if key:
            params.append((key.strip().lower(), value.strip().strip('"')))
    return maintype, subtype or "octet-stream", params


def django_attachment_mimetype(mimetype: str) -> str:
    """The mimetype to hand Django's EmailMessage.attach() for a rendered attachment.

    Django builds a text/* attachment with MIMEText, which appends its own charset="utf-8" to
    the content type it is given: 'text/calendar; charset=utf-8; method=REQUEST' came out with
    charset twice (a strict parser's "duplicate parameter" defect; a client may take either).
    Without the charset the part gets exactly one, as from `build_message`. Other types are
    passed through.
    """
    maintype, subtype, params = _content_type(mimetype)
    if maintype != "text":
        return mimetype
    return f"text/{subtype}" + "".join(f'; {k}="{v}"' for k, v in params if k != "charset")


def _disposition(filename: str) -> str:
    if filename.isascii() and '"' not in filename and "\\" not in filename:
        return f'Content-Disposition: attachment; filename="{filename}"'
    return f"Content-Disposition: attachment; filename*={encode_rfc2231(filename, 'utf-8')}"


def _attachment_part(filename: str, content: bytes | str, mimetype: str):
    maintype, subtype, params = _content_type(mimetype or "application/octet-stream")
    if maintype == "text":
        data = content.encode() if isinstance(content, str) else content
        params = [("charset", "utf-8")] + [(k, v) for k, v in params if k != "charset"]
        content_type = f"text/{subtype}" + "".join(f'; {k}="{v}"' for k, v in params)
        headers, body = _text_part(content_type, data)
    else:
        data = content.encode() if isinstance(content, str) else content
        content_type = f"{maintype}/{subtype}" + "".join(f'; {k}="{v}"' for k, v in params)
        headers = [f"Content-Type: {content_type}", "Content-Transfer-Encoding: base64"]
        body = _normalise_lines(base64.encodebytes(data))
    headers.append(_disposition(filename))
    return headers, body


def _boundary(parts: list[bytes]) -> str:
    while True:
        boundary = f"==============={_boundary_random.randrange(10**18, 10**19)}=="
        encoded = boundary.encode()
        if not any(encoded in part for part in parts):
            return boundary


def _part(headers: list[str], body: bytes) -> bytes:
    return CRLF.join(h.encode() for h in headers) + CRLF + CRLF + body


def _multipart(subtype: str, parts: list[bytes]) -> tuple[str, bytes]:
    boundary = _boundary(parts)
    delimiter = b"--" + boundary.encode()
    chunks = []
    for part in parts:
        # The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1): without it a
        # part's own last line end (a text body's, an .ics file's) would be cut off.
        chunks.append(delimiter + CRLF + part + CRLF)
    chunks.append(delimiter + b"--" + CRLF)
    return f'multipart/{subtype}; boundary="{boundary}"', b"".join(chunks)


def build_message(
    *,
    from_header: str,
    to_header: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str],
    attachments: list[tuple[str, bytes | str, str]] = (),
    date: str | None = None,
) -> bytes:
    """The complete message (headers + body, CRLF line ends) for smtplib.sendmail.

    `from_header` / `to_header` come from `address_header`. `headers` are extra headers
    (Message-ID, Auto-Submitted, List-Unsubscribe ...), written in order after Date.
    """
    alternatives = [
        _part(*_text_part('text/plain; charset="utf-8"', text.encode())),
        _part(*_text_part('text/html; charset="utf-8"', html.encode())),
    ]
    content_type, body = _multipart("alternative", alternatives)
    if attachments:
        parts = [_part([f"Content-Type: {content_type}"], body)]
        parts += [_part(*_attachment_part(*attachment)) for attachment in attachments]
        content_type, body = _multipart("mixed", parts)
    lines = [
        f"Content-Type: {content_type}",
        "MIME-Version: 1.0",
        f"Subject: {_header_value('Subject', subject, text=True)}",
        f"From: {_header_value('From', from_header)}",
        f"To: {_header_value('To', to_header)}",
        f"Date: {date or formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}",
    ]
    lines += [f"{name}: {_header_value(name, value)}" for name, value in headers.items()]
    return CRLF.join(line.encode() for line in lines) + CRLF + CRLF + body
