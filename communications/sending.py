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

Batches (`mails_send`, task `send_mails_task`): rows committed together are published as one
task per SEND_BATCH_SIZE rows (communications.services.outbox_queue). The batch claims its rows
in one statement and reads the rows they refer to once, then sends each over the same SMTP
connection and records each on its own right after the server accepted it, so every guarantee
above holds per mail. Rows a batch never started (time limit, unexpected error) go straight
back to the queue; a worker killed mid-batch leaves its claimed rows to the sweeper as above.
The SMTP path writes the message bytes with communications.mime instead of Django's email.mime
tree (same headers and structure, a tenth of the sender's CPU less).
"""

import functools
import hashlib
import logging
import re
import smtplib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import sanitize_address
from django.db import connection
from django.db.models import F
from django.db.models.functions import Greatest
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone, translation

from . import mailcontext, mime
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
# A batch starts no new mail after this long: far inside SENDING_TIMEOUT, so its claims are
# still live for every mail it sends (each takes at most a few EMAIL_TIMEOUTs).
BATCH_SEND_SECONDS = SENDING_TIMEOUT.total_seconds() / 2


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


@dataclass
class RenderedMail:
    """One outbox row rendered: what both the Django message (previews, file/console backends)
    and the lean SMTP writer (communications.mime) are built from."""

    subject: str
    text: str
    html: str
    to_name: str
    to_email: str
    headers: dict[str, str]
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


def render_parts(
    mail: OutboxMail,
    *,
    loaded: dict | None = None,
    rows: dict | None = None,
    attachments: bool = False,
) -> RenderedMail:
    """Subject, text and HTML bodies in the recipient's language (and the attachments).

    `rows` (optional, `mailcontext.preload_rows`) are rows read for a whole batch. `loaded`
    (optional) receives the ticket the context was built from, so the attachments of the same
    mail reuse it instead of reading it again.
    """
    from .mailcontext import mail_context

    with translation.override(mail.language), timezone.override(settings.TIME_ZONE):
        context = mail_context(mail, rows=rows)
        subject = _render(f"mail/{mail.template}.subject.txt", context, autoescape=False)
        text = _render(f"mail/{mail.template}.txt", context, autoescape=False)
        html = _render(f"mail/{mail.template}.html", context, autoescape=True)
    ticket = context.get("ticket")
    if loaded is not None and getattr(ticket, "_meta", None) and ticket._meta.label == TICKET:
        loaded[("ticket", ticket.pk)] = ticket
    headers = {"Message-ID": message_id_for(mail), "Auto-Submitted": "auto-generated"}
    # Only non-transactional mail (mailings) carries an unsubscribe link; its outbox row says
    # so with list_unsubscribe_url. RFC 8058 one-click: the link accepts a bare POST.
    unsubscribe = mail.context.get("list_unsubscribe_url") if isinstance(mail.context, dict) else ""
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    rendered = RenderedMail(
        subject=" ".join(subject.split()),
        text=text,
        html=html,
        to_name=mail.to_name,
        to_email=mail.to_email,
        headers=headers,
    )
    if attachments and mail.attachments:
        from .renderers.attachments import render_attachment

        if loaded is None:
            loaded = {}
        from .renderers.data import CalendarAttendee

        recipient = CalendarAttendee(name=mail.to_name, email=mail.to_email, language=mail.language)
        with translation.override(mail.language):
            for spec in mail.attachments:
                rendered.attachments.append(render_attachment(spec, loaded, recipient))
    return rendered


def _django_message(rendered: RenderedMail) -> EmailMultiAlternatives:
    # formataddr quotes a name such as 'Jansen, Piet': unquoted, its comma splits the address.
    to = formataddr((rendered.to_name, rendered.to_email))
    message = EmailMultiAlternatives(
        subject=rendered.subject, body=rendered.text, to=[to], headers=dict(rendered.headers)
    )
    message.attach_alternative(rendered.html, "text/html")
    for filename, content, mimetype in rendered.attachments:
        message.attach(filename, content, mimetype)
    return message


def render_mail(mail: OutboxMail, *, loaded: dict | None = None) -> EmailMultiAlternatives:
    """Subject, text and HTML bodies in the recipient's language, without attachments.

    `loaded` (optional) receives the ticket the context was built from, so the attachments of
    the same mail reuse it instead of reading it again.
    """
    return _django_message(render_parts(mail, loaded=loaded))


def render_mail_with_attachments(mail: OutboxMail) -> EmailMultiAlternatives:
    # Rows shared by the body and the attachments: a confirmation reads its ticket once.
    return _django_message(render_parts(mail, loaded={}, attachments=True))


# --- SMTP connection reuse ---------------------------------------------------------------------

_smtp: dict = {"key": None, "backend": None, "last_used": 0.0}
# The cached connection is per process; the lock keeps two threads off it at once.
_smtp_lock = threading.RLock()


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
    """Send a Django message (kept for callers outside the outbox sender)."""
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        message.send()
        return
    with _smtp_lock:
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


@functools.lru_cache(maxsize=4)
def _from_header(from_email: str) -> str:
    return sanitize_address(from_email, "utf-8")


def deliver_rendered(rendered: RenderedMail) -> None:
    """Hand one rendered mail to SMTP over this process's cached connection.

    The SMTP path writes the message with communications.mime (no email.mime tree); the file,
    console and in-memory backends get the Django message as before.
    """
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        _django_message(rendered).send()
        return
    # Built before touching the connection: a malformed header fails this mail only.
    sender = _from_header(settings.DEFAULT_FROM_EMAIL)
    to = mime.address_header(rendered.to_name, rendered.to_email)
    data = mime.build_message(
        from_header=sender,
        to_header=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers=rendered.headers,
        attachments=rendered.attachments,
    )
    with _smtp_lock:
        backend = _smtp_backend()
        try:
            # One recipient: either accepted ({}) or SMTPRecipientsRefused is raised.
            backend.connection.sendmail(sender, [to], data)
        except Exception:
            # The connection may be half-dead; the next mail opens a fresh one.
            close_connections()
            raise
        _smtp["last_used"] = time.monotonic()


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer means the server will never take this mail; retrying only delays the news."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


# --- The send step ------------------------------------------------------------------------------


def _claim_many(mail_ids: Sequence[int]) -> list[OutboxMail]:
    """Move the due rows among `mail_ids` to `sending` and load them, in ONE statement
    (UPDATE ... RETURNING); returns them in the order of `mail_ids`.

    The UPDATE is atomic on its own: on PostgreSQL a concurrent claim of the same row waits for
    the row lock and then re-checks the WHERE clause against the committed `sending` status, so
    exactly one claim wins (SQLite serialises writers). It waits rather than SKIP LOCKED on
    purpose: a row skipped because, say, the sweeper held its lock would lose the only task
    message that names it until the sweeper came round again. One statement for the whole
    batch instead of SELECT FOR UPDATE + UPDATE + COMMIT per mail.
    """
    if not mail_ids:
        return []
    now = timezone.now()
    meta = OutboxMail._meta
    quote = connection.ops.quote_name
    column = {name: quote(meta.get_field(name).column) for name in _CLAIM_COLUMNS}
    returning = ", ".join(quote(f.column) for f in meta.concrete_fields)
    placeholders = ", ".join(["%s"] * len(mail_ids))
    sql = (
        # Only quoted model identifiers are interpolated; every value is a parameter.
        f"UPDATE {quote(meta.db_table)} SET {column['status']} = %s,"  # noqa: S608
        f" {column['attempts']} = {column['attempts']} + 1,"
        f" {column['next_attempt_at']} = %s, {column['updated_at']} = %s"
        f" WHERE {column['id']} IN ({placeholders}) AND ({column['status']} = %s"
        f" OR ({column['status']} IN (%s, %s) AND ({column['next_attempt_at']} IS NULL"
        f" OR {column['next_attempt_at']} <= %s)))"
        f" RETURNING {returning}"
    )
    at = connection.ops.adapt_datetimefield_value
    params = [
        OutboxMail.Status.SENDING.value,
        at(now + SENDING_TIMEOUT),
        at(now),
        *mail_ids,
        OutboxMail.Status.QUEUED.value,
        OutboxMail.Status.RETRYING.value,
        OutboxMail.Status.SENDING.value,
        at(now),
    ]
    claimed = {mail.pk: mail for mail in OutboxMail.objects.raw(sql, params)}
    return [claimed[pk] for pk in mail_ids if pk in claimed]


_CLAIM_COLUMNS = ("id", "status", "attempts", "next_attempt_at", "updated_at")


def _why_not_claimed(mail_ids: Sequence[int]) -> dict[int, str]:
    """Why these rows were not claimed (only read when a claim did not win)."""
    statuses = dict(OutboxMail.objects.filter(pk__in=list(mail_ids)).values_list("pk", "status"))
    reasons = {}
    for pk in mail_ids:
        status = statuses.get(pk)
        if status is None:
            reasons[pk] = "missing"
        elif status == OutboxMail.Status.SENDING:
            # Another worker holds a live claim; if it died, the claim expires and the
            # sweeper queues the row again.
            reasons[pk] = "busy"
        elif status == OutboxMail.Status.RETRYING:
            reasons[pk] = "not_due"
        else:
            reasons[pk] = status
    return reasons


def _claim(mail_id: int) -> tuple[OutboxMail | None, str]:
    """Claim one row: (row, "sending"), or (None, why not)."""
    claimed = _claim_many([mail_id])
    if claimed:
        return claimed[0], claimed[0].status
    return None, _why_not_claimed([mail_id])[mail_id]


def mail_send(*, mail_id: int) -> SendOutcome:
    """Deliver one outbox row at most once per claim; see the module docstring."""
    return mails_send(mail_ids=[mail_id])[mail_id]


def mails_send(*, mail_ids: Sequence[int]) -> dict[int, SendOutcome]:
    """Deliver a batch of outbox rows over this process's one SMTP connection.

    One claim statement for the batch, the rows the mails refer to read once for the batch
    (`mailcontext.preload_rows`), then per mail: render, SMTP, and its own record UPDATE right
    after the server accepted it, so the duplicate window stays one mail wide however large
    the batch. Rows another worker holds, or that are sent, failed or not due, are left alone.
    A batch stops starting new mails after BATCH_SEND_SECONDS (well inside the claim's
    SENDING_TIMEOUT, so the sweeper never hands a row to a second worker while this one may
    still send it); rows it did not start, also after an unexpected error, are released
    straight back to the queue.
    """
    ids = list(dict.fromkeys(int(pk) for pk in mail_ids))
    claimed = _claim_many(ids)
    outcomes: dict[int, SendOutcome] = {}
    if len(claimed) < len(ids):
        won = {mail.pk for mail in claimed}
        reasons = _why_not_claimed([pk for pk in ids if pk not in won])
        outcomes.update({pk: SendOutcome(status=why) for pk, why in reasons.items()})
    if not claimed:
        return outcomes
    # One mail: its own queries, as before. A batch: shared rows (read-only).
    rows = mailcontext.preload_rows(claimed) if len(claimed) > 1 else None
    started = time.monotonic()
    pending = list(reversed(claimed))
    try:
        while pending and time.monotonic() - started < BATCH_SEND_SECONDS:
            mail = pending.pop()
            outcomes[mail.pk] = _send_claimed(mail, rows)
    finally:
        if pending:
            _release([mail.pk for mail in pending])
            outcomes.update({mail.pk: SendOutcome(status="released") for mail in pending})
    return outcomes


def _send_claimed(mail: OutboxMail, rows: dict | None) -> SendOutcome:
    # The batch's rows double as the attachments' `loaded` rows (same keys: ("ticket", pk)).
    loaded = {} if rows is None else rows
    try:
        rendered = render_parts(mail, loaded=loaded, rows=rows, attachments=True)
        deliver_rendered(rendered)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        return _record_failure(mail, exc)
    now = timezone.now()
    OutboxMail.objects.filter(pk=mail.pk).update(
        status=OutboxMail.Status.SENT,
        subject=rendered.subject[:300],
        message_id=rendered.headers["Message-ID"],
        sent_at=now,
        next_attempt_at=None,
        last_error="",
        updated_at=now,
    )
    return SendOutcome(status=OutboxMail.Status.SENT)


def _release(mail_ids: list[int]) -> None:
    """Give claimed rows that were never attempted back: queued and due at once (the claim's
    attempt is not counted). The sweeper queues them on its next run."""
    OutboxMail.objects.filter(pk__in=mail_ids, status=OutboxMail.Status.SENDING).update(
        status=OutboxMail.Status.QUEUED,
        attempts=Greatest(F("attempts") - 1, 0),
        next_attempt_at=timezone.now(),
        updated_at=timezone.now(),
    )


# An enhanced status code ("5.1.1") says why without saying to whom.
_ENHANCED_CODE = re.compile(rb"\b[245]\.\d{1,3}\.\d{1,3}\b")


def failure_log_reason(exc: Exception) -> str:
    """The failure as it may go into a log line: exception type, SMTP reply code and enhanced
    status code only. SMTP reply texts often quote the recipient ("550 5.1.1 <x@y>: no such
    user"), and log lines outlive erasure requests; the full text stays on the outbox row
    (`last_error`), which the privacy services do reach."""
    code: int | None = None
    text = b""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        if replies:
            code, message = replies[0]
            text = message if isinstance(message, bytes) else str(message).encode()
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        message = exc.smtp_error
        text = message if isinstance(message, bytes) else str(message).encode()
    parts = [type(exc).__name__]
    if code is not None:
        parts.append(f"smtp_code={int(code)}")
    enhanced = _ENHANCED_CODE.search(text)
    if enhanced:
        parts.append(f"status={enhanced.group().decode()}")
    return " ".join(parts)


def _record_failure(mail: OutboxMail, exc: Exception) -> SendOutcome:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    if is_permanent(exc) or mail.attempts >= MAX_ATTEMPTS:
        OutboxMail.objects.filter(pk=mail.pk).update(
            status=OutboxMail.Status.FAILED, last_error=error, next_attempt_at=None, updated_at=now
        )
        logger.error("mail %s failed permanently: %s", mail.pk, failure_log_reason(exc))
        return SendOutcome(status=OutboxMail.Status.FAILED)
    delay = backoff_seconds(mail.attempts)
    OutboxMail.objects.filter(pk=mail.pk).update(
        status=OutboxMail.Status.RETRYING,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=delay),
        updated_at=now,
    )
    logger.warning(
        "mail %s failed (attempt %s), retry in %ss: %s",
        mail.pk,
        mail.attempts,
        delay,
        failure_log_reason(exc),
    )
    return SendOutcome(status=OutboxMail.Status.RETRYING, retry_in=delay)
