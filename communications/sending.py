"""Delivering one outbox row, and rendering it.

Delivery guarantee (at least once, duplicates detectable):

1. *Claim* (one conditional UPDATE): a row in queued/retrying (due) moves to `sending`,
   `attempts` goes up and `next_attempt_at` becomes the claim's expiry. A row that is sent or
   failed is a no-op, so a redelivered task never sends twice; a row another worker is sending
   right now (fresh claim) is skipped.
2. *Deliver* (no transaction open): render the mail and its attachments, hand it to SMTP. No
   database lock or SQLite write lock is held while rendering PDFs or talking to SMTP.
3. *Record* (one UPDATE): `sent` with the Message-ID, or `retrying` with exponential back-off,
   or `failed` after MAX_ATTEMPTS or on a permanent (5xx) rejection.

A worker that dies between 1 and 3 leaves the row in `sending`; once the claim expires the
sweeper (`communications.services.outbox_sweep`) puts it back in the queue. The only window in
which a mail can go out twice is between the SMTP server's "250 accepted" and the UPDATE in
step 3 (well under a millisecond, no rendering in it): exactly-once is impossible over SMTP,
so the Message-ID is derived from the outbox key and a receiver (or we) can spot the duplicate.

Retries are not Celery ETA tasks (with Redis they are redelivered after the visibility timeout
and held in worker memory); the sweeper queues a `retrying` row again once it is due.
"""

import hashlib
import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone, translation

from .models import OutboxMail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claim older than this is a worker that died mid-send; far above EMAIL_TIMEOUT + rendering.
SENDING_TIMEOUT = timedelta(minutes=10)
# A queued row not sent within this time lost its broker message (broker down, worker killed
# holding it); the sweeper queues it again. Re-queueing twice is harmless: sending is idempotent.
QUEUED_GRACE = timedelta(minutes=5)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
TICKET = "participants.Ticket"
# An idle SMTP connection older than this is checked with NOOP before it is reused.
SMTP_IDLE_CHECK_SECONDS = 15


@dataclass(frozen=True)
class SendOutcome:
    status: str
    retry_in: int | None = None


def backoff_seconds(attempts: int) -> int:
    """30 s, 1 min, 2 min, 4 min ... capped at an hour."""
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


def _mail_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id_for(mail: OutboxMail) -> str:
    """The same outbox row always gets the same Message-ID, so a duplicate is recognisable."""
    digest = hashlib.sha256(mail.key.encode()).hexdigest()[:32]
    return f"<outbox.{mail.pk}.{digest}@{_mail_domain()}>"


# --- Rendering (pure: reads rows, never writes) ------------------------------------------------


def _render(name: str, context: dict, *, autoescape: bool) -> str:
    # Subjects and plain-text bodies must not be HTML-escaped ("Tom & Jerry" stays as it is).
    template = get_template(name).template
    return template.render(Context(context, autoescape=autoescape))


def render_mail(mail: OutboxMail, *, loaded: dict | None = None) -> EmailMultiAlternatives:
    """Subject, text and HTML bodies in the recipient's language, without attachments.

    `loaded` (optional) receives the ticket the context was built from, so the attachments of
    the same mail reuse it instead of reading it again.
    """
    from .mailcontext import mail_context

    with translation.override(mail.language), timezone.override(settings.TIME_ZONE):
        context = mail_context(mail)
        subject = _render(f"mail/{mail.template}.subject.txt", context, autoescape=False)
        text = _render(f"mail/{mail.template}.txt", context, autoescape=False)
        html = _render(f"mail/{mail.template}.html", context, autoescape=True)
    ticket = context.get("ticket")
    if loaded is not None and getattr(ticket, "_meta", None) and ticket._meta.label == TICKET:
        loaded[("ticket", ticket.pk)] = ticket
    to = f"{mail.to_name} <{mail.to_email}>" if mail.to_name else mail.to_email
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        to=[to],
        headers={"Message-ID": message_id_for(mail), "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    # Only non-transactional mail (mailings) carries an unsubscribe link; its outbox row says
    # so with list_unsubscribe_url. RFC 8058 one-click: the link accepts a bare POST.
    unsubscribe = mail.context.get("list_unsubscribe_url") if isinstance(mail.context, dict) else ""
    if unsubscribe:
        message.extra_headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        message.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def render_mail_with_attachments(mail: OutboxMail) -> EmailMultiAlternatives:
    # Rows shared by the body and the attachments: a confirmation reads its ticket once.
    loaded: dict = {}
    message = render_mail(mail, loaded=loaded)
    if mail.attachments:
        from .renderers.attachments import render_attachment

        with translation.override(mail.language):
            for spec in mail.attachments:
                filename, content, mimetype = render_attachment(spec, loaded)
                message.attach(filename, content, mimetype)
    return message


# --- SMTP connection reuse ---------------------------------------------------------------------

_smtp: dict = {"key": None, "backend": None, "last_used": 0.0}


def close_connections() -> None:
    """Close this process's cached SMTP connection (tests, worker shutdown)."""
    backend = _smtp["backend"]
    _smtp.update(key=None, backend=None, last_used=0.0)
    if backend is not None:
        try:
            backend.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail; it is gone anyway
            logger.debug("closing SMTP connection failed", exc_info=True)


def _smtp_backend():
    """One SMTP connection per worker process, kept open between mails.

    Opening a connection per mail costs a TCP and EHLO round trip each time; the mail queue
    sends thousands in a row. An idle connection is checked with NOOP before reuse.
    """
    key = (settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER)
    backend = _smtp["backend"]
    if backend is not None and _smtp["key"] == key and backend.connection is not None:
        if time.monotonic() - _smtp["last_used"] > SMTP_IDLE_CHECK_SECONDS:
            try:
                alive = backend.connection.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if not alive:
                close_connections()
                return _smtp_backend()
        return backend
    close_connections()
    backend = get_connection(fail_silently=False)
    backend.open()
    _smtp.update(key=key, backend=backend, last_used=time.monotonic())
    return backend


def deliver(message: EmailMultiAlternatives) -> None:
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        # File, console and in-memory backends: nothing worth keeping open.
        message.send()
        return
    backend = _smtp_backend()
    try:
        sent = backend.send_messages([message])
    except Exception:
        # The connection may be half-dead; the next mail opens a fresh one.
        close_connections()
        raise
    _smtp["last_used"] = time.monotonic()
    if sent != 1:
        close_connections()
        raise smtplib.SMTPException("the SMTP connection did not accept the message")


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer means the server will never take this mail; retrying only delays the news."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


# --- The send step ------------------------------------------------------------------------------


def _claim(mail_id: int) -> tuple[OutboxMail | None, str]:
    """Move a due row to `sending` and load it, in ONE statement (UPDATE ... RETURNING).

    The UPDATE is atomic on its own: on PostgreSQL a concurrent claim of the same row waits for
    the row lock and then re-checks the WHERE clause against the committed `sending` status, so
    exactly one claim wins (SQLite serialises writers). One statement instead of
    SELECT FOR UPDATE + UPDATE + COMMIT, and RETURNING instead of a SELECT after it, keeps the
    per-mail database round trips low (PostgreSQL and SQLite >= 3.35 both support RETURNING).
    Only a claim that did not win reads the row again, to say why.
    """
    now = timezone.now()
    meta = OutboxMail._meta
    quote = connection.ops.quote_name
    column = {name: quote(meta.get_field(name).column) for name in _CLAIM_COLUMNS}
    returning = ", ".join(quote(f.column) for f in meta.concrete_fields)
    sql = (
        # Only quoted model identifiers are interpolated; every value is a parameter.
        f"UPDATE {quote(meta.db_table)} SET {column['status']} = %s,"  # noqa: S608
        f" {column['attempts']} = {column['attempts']} + 1,"
        f" {column['next_attempt_at']} = %s, {column['updated_at']} = %s"
        f" WHERE {column['id']} = %s AND ({column['status']} = %s"
        f" OR ({column['status']} IN (%s, %s) AND ({column['next_attempt_at']} IS NULL"
        f" OR {column['next_attempt_at']} <= %s)))"
        f" RETURNING {returning}"
    )
    at = connection.ops.adapt_datetimefield_value
    params = [
        OutboxMail.Status.SENDING.value,
        at(now + SENDING_TIMEOUT),
        at(now),
        mail_id,
        OutboxMail.Status.QUEUED.value,
        OutboxMail.Status.RETRYING.value,
        OutboxMail.Status.SENDING.value,
        at(now),
    ]
    claimed = list(OutboxMail.objects.raw(sql, params))
    if claimed:
        return claimed[0], claimed[0].status
    mail = OutboxMail.objects.filter(pk=mail_id).first()
    if mail is None:
        return None, "missing"
    if mail.status == OutboxMail.Status.SENDING:
        # Another worker holds a live claim; if it died, the claim expires and the
        # sweeper queues the row again.
        return None, "busy"
    if mail.status == OutboxMail.Status.RETRYING:
        return None, "not_due"
    return None, mail.status


_CLAIM_COLUMNS = ("id", "status", "attempts", "next_attempt_at", "updated_at")


def mail_send(*, mail_id: int) -> SendOutcome:
    """Deliver one outbox row at most once per claim; see the module docstring."""
    mail, status = _claim(mail_id)
    if mail is None:
        return SendOutcome(status=status)
    try:
        message = render_mail_with_attachments(mail)
        deliver(message)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        return _record_failure(mail, exc)
    OutboxMail.objects.filter(pk=mail.pk).update(
        status=OutboxMail.Status.SENT,
        subject=message.subject[:300],
        message_id=message.extra_headers["Message-ID"],
        sent_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
        updated_at=timezone.now(),
    )
    return SendOutcome(status=OutboxMail.Status.SENT)


def _record_failure(mail: OutboxMail, exc: Exception) -> SendOutcome:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    if is_permanent(exc) or mail.attempts >= MAX_ATTEMPTS:
        OutboxMail.objects.filter(pk=mail.pk).update(
            status=OutboxMail.Status.FAILED, last_error=error, next_attempt_at=None, updated_at=now
        )
        logger.error("mail %s failed permanently: %s", mail.pk, error)
        return SendOutcome(status=OutboxMail.Status.FAILED)
    delay = backoff_seconds(mail.attempts)
    OutboxMail.objects.filter(pk=mail.pk).update(
        status=OutboxMail.Status.RETRYING,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=delay),
        updated_at=now,
    )
    logger.warning(
        "mail %s failed (attempt %s), retry in %ss: %s", mail.pk, mail.attempts, delay, error
    )
    return SendOutcome(status=OutboxMail.Status.RETRYING, retry_in=delay)
