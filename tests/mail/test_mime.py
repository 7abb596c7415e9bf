"""The lean MIME writer (communications.mime) against Django's EmailMultiAlternatives.

The SMTP path writes messages itself; previews, the file/console backends and other apps still
use Django's message. Both are built from the same rendered parts here and parsed back with the
standard library: a mail client must see the same headers, bodies and attachments.
"""

from email import message_from_bytes
from email import policy as email_policy

import pytest
from django.core.mail import BadHeaderError

from communications import mime, sending
from communications.sending import RenderedMail

CASES = {
    "ascii-with-attachments": RenderedMail(
        subject="Your ticket for Congress 2030",
        text="Dear Anouk,\n\nYour place is confirmed.\n.\nA line starting with a dot.\n",
        html="<p>Dear Anouk,</p>\n<p>Your place is confirmed.</p>\n",
        to_name="Anouk de Vries",
        to_email="anouk@example.nl",
        headers={"Message-ID": "<outbox.1.abc@example.nl>", "Auto-Submitted": "auto-generated"},
        attachments=[
            ("ticket-congress.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "application/pdf"),
            (
                "congress.ics",
                b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Caf\xc3\xa9\r\nEND:VCALENDAR\r\n",
                "text/calendar; charset=utf-8; method=REQUEST",
            ),
        ],
    ),
    "non-ascii-no-attachments": RenderedMail(
        subject="Uw plaats bij Café Ünal – bevestigd",
        text="Beste Zoë Ünal-de Vries,\r\n\r\nTot ziens – op 12 november.\n",
        html="<p>Beste Zoë Ünal-de Vries,</p><p>Tom &amp; Jerry</p>",
        to_name="Zoë Ünal-de Vries",
        to_email="zoe@example.nl",
        headers={"Message-ID": "<outbox.2.def@example.nl>", "Auto-Submitted": "auto-generated"},
    ),
    "mailing-long-lines-special-name": RenderedMail(
        subject="Nieuws " + "x" * 150,
        text="a" * 1500 + "\n" + "Tot ziens\n",
        html="<p>" + "é" * 1200 + "</p>",
        to_name='Jansen, "Piet" (HR)',
        to_email="piet@example.nl",
        headers={
            "Message-ID": "<outbox.3.ghi@example.nl>",
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": "<https://events.example.nl/nl/afmelden/abc/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        attachments=[("verslag – 2030.pdf", b"%PDF-1.4 x", "application/pdf")],
    ),
}


def _lean(rendered: RenderedMail):
    data = mime.build_message(
        from_header=mime.address_header("Week van de Werkstress", "noreply@werkstress.nl"),
        to_header=mime.address_header(rendered.to_name, rendered.to_email),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=rendered.headers,
        attachments=rendered.attachments,
    )
    assert all(len(line) <= 998 for line in data.split(b"\r\n")), "SMTP line limit"
    assert b"\n" not in data.replace(b"\r\n", b""), "CRLF line ends only"
    return message_from_bytes(data, policy=email_policy.default)


def _django(rendered: RenderedMail):
    message = sending._django_message(rendered)
    message.from_email = "Week van de Werkstress <noreply@werkstress.nl>"
    data = message.message().as_bytes(linesep="\r\n")
    return message_from_bytes(data, policy=email_policy.default)


def _shape(message) -> list:
    """What a mail client sees: the part tree, decoded bodies, filenames, content types."""
    shape = []
    for part in message.walk():
        entry = [part.get_content_type(), part.get_filename()]
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if part.get_content_maintype() == "text":
                payload = payload.replace(b"\r\n", b"\n").rstrip(b"\n")
            entry.append(payload)
            entry.append(part.get_param("method"))
            entry.append(part.get_content_charset())
        shape.append(entry)
    return shape


@pytest.mark.parametrize("case", CASES)
def test_lean_message_reads_like_djangos(case):
    rendered = CASES[case]
    lean, django = _lean(rendered), _django(rendered)
    for header in (
        "Subject",
        "From",
        "To",
        "Message-ID",
        "Auto-Submitted",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
    ):
        assert str(lean[header] or "").strip() == str(django[header] or "").strip(), header
    assert lean["To"].addresses[0].display_name == rendered.to_name
    assert lean["To"].addresses[0].addr_spec == rendered.to_email
    assert lean["Subject"] == rendered.subject
    assert lean["Date"] is not None
    assert _shape(lean) == _shape(django)
    assert not lean.defects and not any(part.defects for part in lean.walk())


def test_text_bodies_and_attachments_arrive_intact():
    message = _lean(CASES["ascii-with-attachments"])
    body = message.get_body(preferencelist=("plain",))
    # The wire has CRLF line ends, which the parser keeps; the text had "\n".
    assert body.get_content().replace("\r\n", "\n") == CASES["ascii-with-attachments"].text
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert (
        attachments["ticket-congress.pdf"].get_payload(decode=True)
        == (CASES["ascii-with-attachments"].attachments[0][1])
    )
    calendar = attachments["congress.ics"]
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST"
    assert "SUMMARY:Café" in calendar.get_content()


def test_header_with_a_line_break_is_refused():
    rendered = RenderedMail(
        subject="ok",
        text="",
        html="",
        to_name="x",
        to_email="x@example.nl",
        headers={"Message-ID": "<a@b>\r\nBcc: victim@example.nl"},
    )
    with pytest.raises(BadHeaderError):
        _lean(rendered)
    with pytest.raises(ValueError):
        mime.address_header("Evil\r\nBcc: victim@example.nl", "x@example.nl")
