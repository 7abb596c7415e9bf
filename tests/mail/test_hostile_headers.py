"""Hostile visitor values in mail headers, sent for real (aiosmtpd on loopback) and through the
Django backends of the embedded default.

Every value ends one of two ways, at once: the mail is sent to exactly its one recipient with
no header but the ones we write (the value cleaned and encoded in its display name or subject),
or the row fails permanently with the reason recorded. Never a retry loop, never an injected
header or recipient.
"""

import re
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.header import decode_header, make_header
from email.utils import getaddresses

import pytest
from django.core import mail as django_mail
from django.db import connection
from django.utils import timezone

from communications import sending, services
from communications.models import OutboxMail
from tests.factories import EventFactory, RegistrationFactory

pytestmark = pytest.mark.django_db

TO = "anouk@example.nl"

# Display names and event titles as a visitor (or a careless import) could leave them. Each
# at most 200 characters: the length of the fields they live in.
HOSTILE = {
    "crlf-bcc": "Anouk\r\nBcc: victim@example.org",
    "lf-header": "Anouk\nX-Injected: yes",
    "cr-header": "Anouk\rX-Injected: yes",
    "crlf-body": "Anouk\r\n\r\nInjected body",
    "trailing-crlf": "Anouk de Vries\r\n",
    "nul": "Anouk\x00de Vries",
    "tab-vt-ff-del": "Anouk\t\x0b\x0c\x7fde Vries",
    "c1-next-line": "Anouk\x85X-Injected: yes",
    "unicode-line-separator": "Anouk\u2028X-Injected: yes\u2029",
    "bidi-override": "Anouk \u202egnp.exe",
    "only-controls": "\r\n\x0b\t\x1f",
    "long-ascii-no-space": "A" * 200,
    "long-ascii-words": ("Anouk de Vries-van den Berg " * 8)[:200],
    "long-non-ascii": ("Zoë Ünal-Çelik Øyvind " * 10)[:200],
    "long-emoji": "🎉" * 200,
    "non-ascii": "Zoë Ünal-de Vries",
    "emoji": "Anouk 🎉 de Vries",
    "quotes": 'Anouk "de" Vries',
    "unbalanced-quote": 'Anouk "de Vries',
    "backslashes": "Anouk \\ de Vries\\",
    "comma": "de Vries, Anouk",
    "two-addresses": "victim@example.org, other@example.org",
    "angle-address": "Victim <victim@example.org>",
    "group-syntax": "undisclosed-recipients:; victim@example.org",
    "encoded-word-lookalike": "=?utf-8?q?Bcc=3A_victim=40example=2Eorg?=",
    "semicolon-parens": "Anouk (HR); Piet",
}

ALLOWED_HEADERS = {
    "content-type",
    "content-transfer-encoding",
    "mime-version",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "auto-submitted",
}


def _header_names(raw: bytes) -> list[str]:
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    names = []
    for line in head.split(b"\n"):
        assert line, "no empty line inside the header block"
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the header above
        assert b":" in line, f"not a header line: {line!r}"
        names.append(line.split(b":", 1)[0].decode().lower())
    return names


def _assert_clean_header_block(raw: bytes) -> None:
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    bad = {byte for byte in head if (byte < 0x20 and byte not in (0x09, 0x0A)) or byte == 0x7F}
    assert not bad, f"control bytes in the headers: {sorted(bad)}"
    assert all(len(line) <= 998 for line in head.split(b"\n")), "SMTP line limit"
    assert head.isascii(), "headers are 7-bit (RFC 2047 encoded)"
    names = _header_names(raw)
    assert set(names) <= ALLOWED_HEADERS, f"unexpected header: {set(names) - ALLOWED_HEADERS}"
    assert len(names) == len(set(names)), "every header once"
    assert {"to", "subject", "from", "message-id"} <= set(names)


def _shown(value: str) -> str:
    """What a mail client shows of a header value: unfolded (RFC 5322: drop the line breaks of
    folding), RFC 2047 decoded."""
    return str(make_header(decode_header(re.sub(r"\r?\n", "", value))))


def _shown_as(value: str, intended: str) -> bool:
    """Shown as intended. A visitor value that is itself an RFC 2047 encoded word may also be
    shown decoded (Django's writer, used by the file and console backends, leaves it as is);
    either way it is text in one header, not a header of its own."""
    return _shown(value) in (intended, _shown(intended))


def _sent_message(backend: str, smtp_server) -> tuple[bytes, list[str]]:
    """(the message's bytes, its envelope recipients)."""
    if backend == "smtp":
        assert smtp_server.count() == 1
        return smtp_server.raw[0], smtp_server.rcpt_tos[0]
    [message] = django_mail.outbox
    recipients = [address for _name, address in getaddresses(message.recipients())]
    return message.message().as_bytes(linesep="\r\n"), recipients


@pytest.fixture(params=["smtp", "django-backend"])
def backend(request, settings):
    if request.param == "smtp":
        return request.param, request.getfixturevalue("smtp_settings")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return request.param, None


def _queue(*, to_name: str = "Anouk de Vries", to_email: str = TO, title: str = "Congres") -> int:
    if connection.vendor == "postgresql" and "\x00" in to_name + to_email + title:
        pytest.skip("PostgreSQL refuses NUL in text: such a row can never reach the sender")
    registration = RegistrationFactory(event=EventFactory(title=title))
    # Created directly, as whatever wrote the row left it (the outbox does not re-check).
    return OutboxMail.objects.create(
        key=f"booking_confirmed:hostile:{registration.pk}",
        template="booking_confirmed",
        to_email=to_email,
        to_name=to_name,
        context={"registration_id": registration.pk},
        event_id=registration.event_id,
    ).pk


def _assert_final_at_once(pk: int, status: str) -> OutboxMail:
    row = OutboxMail.objects.get(pk=pk)
    assert row.status == status, row.last_error
    assert row.attempts == 1
    # Nothing ever picks it up again, however long we wait.
    assert services.outbox_sweep(now=timezone.now() + timedelta(days=30)) == 0
    return row


@pytest.mark.parametrize("field", ["to_name", "subject"])
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_display_name_or_subject_is_sent_safely_to_one_recipient(backend, field, case):
    which, smtp_server = backend
    value = HOSTILE[case]
    pk = _queue(**({"to_name": value} if field == "to_name" else {"title": value}))
    outcome = sending.mail_send(mail_id=pk).status
    row = _assert_final_at_once(pk, outcome)
    assert outcome == OutboxMail.Status.SENT, row.last_error

    raw, envelope = _sent_message(which, smtp_server)
    assert envelope == [TO], "exactly the intended recipient"
    _assert_clean_header_block(raw)
    message = message_from_bytes(raw, policy=email_policy.compat32)
    [(name, address)] = getaddresses(message.get_all("To"))
    assert address == TO
    if field == "to_name":
        intended = sending.header_text(value, limit=sending.MAX_DISPLAY_NAME)
        assert _shown_as(name, intended), (name, intended)
    else:
        intended = row.subject  # the rendered subject: "Boeking <code> bevestigd: <title>"
        assert intended.endswith(sending.header_text(value, limit=sending.MAX_SUBJECT))
        assert _shown_as(message["Subject"], intended), (message["Subject"], intended)
    # The standard library's strict parser agrees: one address, no defects.
    parsed = message_from_bytes(raw, policy=email_policy.default)
    assert [a.addr_spec for a in parsed["To"].addresses] == [TO]
    assert not parsed.defects


BAD_ADDRESSES = {
    "crlf-bcc": f"{TO}\r\nBcc: victim@example.org",
    "lf-header": f"{TO}\nX-Injected: yes",
    "nul": "anouk\x00@example.nl",
    "two-addresses": f"{TO}, victim@example.org",
    "angle-address": f"Victim <{TO}>",
    "space": "anouk @example.nl",
    "no-at": "anouk.example.nl",
    "empty": "",
}


@pytest.mark.parametrize("case", BAD_ADDRESSES)
def test_an_address_no_message_can_be_built_for_fails_permanently_at_once(backend, case):
    which, smtp_server = backend
    pk = _queue(to_email=BAD_ADDRESSES[case])
    assert sending.mail_send(mail_id=pk).status == OutboxMail.Status.FAILED
    row = _assert_final_at_once(pk, OutboxMail.Status.FAILED)
    assert row.last_error.startswith("UnsendableMail: ")
    assert (smtp_server.count() if which == "smtp" else len(django_mail.outbox)) == 0


@pytest.mark.parametrize("value", ["\r\nBcc: victim@example.org", "\nX-Injected: yes"])
def test_a_header_value_with_a_line_break_fails_permanently_at_once(backend, value):
    """A header we add from row data (a mailing's unsubscribe link) that cannot be written."""
    which, smtp_server = backend
    pk = _queue()
    row = OutboxMail.objects.get(pk=pk)
    row.context = {**row.context, "list_unsubscribe_url": f"https://example.nl/afmelden/{value}"}
    row.save(update_fields=["context"])
    assert sending.mail_send(mail_id=pk).status == OutboxMail.Status.FAILED
    row = _assert_final_at_once(pk, OutboxMail.Status.FAILED)
    assert row.last_error.startswith("UnsendableMail: ")
    assert (smtp_server.count() if which == "smtp" else len(django_mail.outbox)) == 0
