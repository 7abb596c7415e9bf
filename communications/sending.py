"""Delivering one outbox row, and rendering it.

Delivery guarantee (at least once, duplicates detectable):

1. *Claim* (one conditional UPDATE): a row in queued/retrying (due) moves to `sending` with
   this claim's `claim_token`, `attempts` goes up and `next_attempt_at` becomes the end of the
   claim's *lease* (CLAIM_LEASE, 30 s). A row that is sent or failed is a no-op, so a
   redelivered task never sends twice; a row another worker holds a live lease on is skipped.
2. *Deliver* (no transaction open): render the mail and its attachments; then, right before
   SMTP, one conditional UPDATE (the row lock) checks that the claim is still ours, renews the
   lease and stores the Message-ID on the row; then hand it to SMTP. No database lock or SQLite
   write lock is held while rendering PDFs or talking to SMTP.
3. *Record* (one UPDATE, again only while the claim is ours): `sent` with the Message-ID, or
   `retrying` with exponential back-off, or `failed` after MAX_ATTEMPTS, on a permanent (5xx)
   rejection, or at once when no valid message can be built from the row (UnsendableMail: a
   recipient address or header value that is not valid, see `header_text`).

While a worker is alive it keeps its leases: renewed before each mail and every
LEASE_RENEW_SECONDS by a helper thread (`_leases`) for the whole batch, so neither a slow SMTP
conversation nor a long batch lets one run out. A worker that dies (kill -9, OOM, lost machine)
stops renewing; within CLAIM_LEASE plus one sweeper interval (beat: 15 s) the sweeper
(`communications.services.outbox_sweep`) puts its rows back in the queue, or a redelivered task
claims them. A worker that merely stalled past its lease finds another token on the row and
does not send. The only window in which a mail can go out twice is between the SMTP server's
"250 accepted" and the UPDATE in step 3 (well under a millisecond, no rendering in it), or a
worker frozen in the middle of an SMTP conversation: exactly-once is impossible over SMTP, so
the Message-ID is derived from the outbox key, stored on the row before the first attempt and
reused by every later one, and a receiver (or we) can spot the duplicate.

Retries are not Celery ETA tasks (with Redis they are redelivered after the visibility timeout
and held in worker memory); the sweeper queues a `retrying` row again once it is due.

Batches (`mails_send`, task `send_mails_task`): rows committed together are published as one
task per SEND_BATCH_SIZE rows (communications.services.outbox_queue). The batch claims its rows
in one statement and reads the rows they refer to once, then sends each over the same SMTP
connection and records each on its own right after the server accepted it, so every guarantee
above holds per mail. Rows a batch never started (time limit, unexpected error) go straight
back to the queue; a worker killed mid-batch leaves its claimed rows to the sweeper once their
leases run out, as above.
The SMTP path writes the message bytes with communications.mime instead of Django's email.mime
tree (same headers and structure, a tenth of the sender's CPU less).
"""

import contextlib
import functools
import hashlib
import logging
import os
import re
import secrets
import smtplib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.errors import MessageError
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import sanitize_address
from django.core.validators import validate_email
from django.db import connection, connections
from django.db.models import F
from django.db.models.functions import Greatest
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone, translation

from . import mailcontext, mime
from .models import OutboxMail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# How long a claim lives without renewal. A live worker renews it before every mail and every
# LEASE_RENEW_SECONDS (so it covers any SMTP conversation, whatever EMAIL_TIMEOUT is); a dead
# one stops, and its rows are handed on CLAIM_LEASE + one sweeper interval (15 s) after the
# crash at the latest. Longer than EMAIL_TIMEOUT (20 s), so a renewal that is late by one
# blocked socket operation still lands inside the lease.
CLAIM_LEASE = timedelta(seconds=30)
LEASE_RENEW_SECONDS = 10.0
# A queued row not sent within this time lost its broker message (broker down, worker killed
# holding it); the sweeper queues it again. Re-queueing twice is harmless: sending is idempotent.
QUEUED_GRACE = timedelta(minutes=5)
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
TICKET = "participants.Ticket"
# An idle SMTP connection older than this is checked with NOOP before it is reused.
SMTP_IDLE_CHECK_SECONDS = 15
# A batch starts no new mail after this long and gives the rest back to the queue, so one task
# does not hold a worker process (and claims other processes could be sending) for ever.
BATCH_SEND_SECONDS = 300.0
# A display name longer than this is cut: encoded, it must fit one header line with the address.
MAX_DISPLAY_NAME = 78
# The stored subject's length (OutboxMail.subject).
MAX_SUBJECT = 300


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


class UnsendableMail(Exception):
    """No valid message can be built from this outbox row (an invalid recipient address, a
    header value with a line break): a permanent failure, retrying cannot change it."""


# Characters that must never reach a header from visitor data: C0 and C1 controls (CR and LF
# would start a new header, NUL cuts it short for some software, TAB/FF/VT), DEL, the Unicode
# line and paragraph separators, and the bidi overrides and isolates that make a name display
# as something else than what it is.
_HEADER_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def header_text(value: str, *, limit: int) -> str:
    """Visitor text made fit for one header line: each control character becomes a space, runs
    of white space one space, and the length is capped. Quotes, commas and non-ASCII stay:
    the header writers quote and RFC 2047-encode them, so they can never add a recipient."""
    cleaned = " ".join(_HEADER_UNSAFE.sub(" ", str(value or "")).split())
    return cleaned[:limit].rstrip()


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
    # The Message-ID stored by an earlier attempt (communications.sending step 2) wins: a
    # mail resent after a crash must carry the one the first copy had.
    message_id = mail.message_id or message_id_for(mail)
    headers = {"Message-ID": message_id, "Auto-Submitted": "auto-generated"}
    # Only non-transactional mail (mailings) carries an unsubscribe link; its outbox row says
    # so with list_unsubscribe_url. RFC 8058 one-click: the link accepts a bare POST.
    unsubscribe = mail.context.get("list_unsubscribe_url") if isinstance(mail.context, dict) else ""
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    rendered = RenderedMail(
        # Subjects and names carry visitor data (names, titles): never a line break or control
        # character into a header, whatever the forms let through.
        subject=header_text(subject, limit=MAX_SUBJECT),
        text=text,
        html=html,
        to_name=header_text(mail.to_name, limit=MAX_DISPLAY_NAME),
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
        message.attach(filename, content, mime.django_attachment_mimetype(mimetype))
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
    try:
        validate_email(rendered.to_email)
    except ValidationError as exc:
        raise UnsendableMail("the recipient address is not a valid e-mail address") from exc
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        try:
            # These backends build the message inside send() and do no network I/O: a value
            # error here is a header that cannot be written.
            _django_message(rendered).send()
        except (ValueError, UnicodeError, MessageError) as exc:
            raise UnsendableMail(f"the message cannot be built: {exc}") from exc
        return
    # Built before touching the connection: a malformed header fails this mail only, for good.
    try:
        sender = _from_header(settings.DEFAULT_FROM_EMAIL)
        to = mime.address_header(rendered.to_name, rendered.to_email)
        # The envelope names the row's address alone, never one parsed back out of the header.
        recipient = mime.envelope_address(rendered.to_email)
        data = mime.build_message(
            from_header=sender,
            to_header=to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=rendered.headers,
            attachments=rendered.attachments,
        )
    except (ValueError, UnicodeError, MessageError) as exc:
        raise UnsendableMail(f"the message cannot be built: {exc}") from exc
    with _smtp_lock:
        backend = _smtp_backend()
        try:
            # One recipient: either accepted ({}) or SMTPRecipientsRefused is raised.
            backend.connection.sendmail(sender, [recipient], data)
        except Exception:
            # The connection may be half-dead; the next mail opens a fresh one.
            close_connections()
            raise
        _smtp["last_used"] = time.monotonic()


def is_permanent(exc: Exception) -> bool:
    """A 5xx answer means the server will never take this mail; retrying only delays the news.
    Neither will a message that cannot be built from its row."""
    if isinstance(exc, UnsendableMail):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


# --- The send step ------------------------------------------------------------------------------


def new_claim_token() -> str:
    """Names one claim: the host and process (so the outbox shows who holds a row) and a random
    part (so two claims of the same process never look alike)."""
    return f"{socket.gethostname()[:60]}/{os.getpid()}/{secrets.token_hex(6)}"


def _claim_many(mail_ids: Sequence[int], *, token: str) -> list[OutboxMail]:
    """Move the due rows among `mail_ids` to `sending` under the claim `token` with a fresh
    lease and load them, in ONE statement (UPDATE ... RETURNING); returns them in the order of
    `mail_ids`. A `sending` row whose lease has run out is due: its worker is gone.

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
        f" {column['next_attempt_at']} = %s, {column['updated_at']} = %s,"
        f" {column['claim_token']} = %s"
        f" WHERE {column['id']} IN ({placeholders}) AND ({column['status']} = %s"
        f" OR ({column['status']} IN (%s, %s) AND ({column['next_attempt_at']} IS NULL"
        f" OR {column['next_attempt_at']} <= %s)))"
        f" RETURNING {returning}"
    )
    at = connection.ops.adapt_datetimefield_value
    params = [
        OutboxMail.Status.SENDING.value,
        at(now + CLAIM_LEASE),
        at(now),
        token,
        *mail_ids,
        OutboxMail.Status.QUEUED.value,
        OutboxMail.Status.RETRYING.value,
        OutboxMail.Status.SENDING.value,
        at(now),
    ]
    claimed = {mail.pk: mail for mail in OutboxMail.objects.raw(sql, params)}
    return [claimed[pk] for pk in mail_ids if pk in claimed]


_CLAIM_COLUMNS = ("id", "status", "attempts", "next_attempt_at", "updated_at", "claim_token")


def _why_not_claimed(mail_ids: Sequence[int]) -> dict[int, str]:
    """Why these rows were not claimed (only read when a claim did not win)."""
    statuses = dict(OutboxMail.objects.filter(pk__in=list(mail_ids)).values_list("pk", "status"))
    reasons = {}
    for pk in mail_ids:
        status = statuses.get(pk)
        if status is None:
            reasons[pk] = "missing"
        elif status == OutboxMail.Status.SENDING:
            # Another worker holds a live lease; if it died, the lease runs out and the
            # sweeper queues the row again.
            reasons[pk] = "busy"
        elif status == OutboxMail.Status.RETRYING:
            reasons[pk] = "not_due"
        else:
            reasons[pk] = status
    return reasons


def _claim(mail_id: int) -> tuple[OutboxMail | None, str]:
    """Claim one row under a claim of its own: (row, "sending"), or (None, why not)."""
    claimed = _claim_many([mail_id], token=new_claim_token())
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
    The batch's leases are kept alive (`_leases`) until each of its mails is recorded; a mail
    whose claim was lost meanwhile (this worker stalled past its lease and the row went to
    another) is skipped ("lost"). A batch stops starting new mails after BATCH_SEND_SECONDS;
    rows it did not start, also after an unexpected error, are released straight back to the
    queue.
    """
    ids = list(dict.fromkeys(int(pk) for pk in mail_ids))
    token = new_claim_token()
    claimed = _claim_many(ids, token=token)
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
    with _leases.hold(token, [mail.pk for mail in claimed]) as done:
        try:
            while pending and time.monotonic() - started < BATCH_SEND_SECONDS:
                mail = pending.pop()
                outcomes[mail.pk] = _send_claimed(mail, rows, token)
                done(mail.pk)
        finally:
            if pending:
                _release([mail.pk for mail in pending], token)
                outcomes.update({mail.pk: SendOutcome(status="released") for mail in pending})
    return outcomes


def _ours(mail: OutboxMail, token: str):
    """The row, only while `token` still holds its claim: every write after the claim goes
    through this, so a worker that lost its lease never overwrites its successor's state."""
    return OutboxMail.objects.filter(
        pk=mail.pk, status=OutboxMail.Status.SENDING, claim_token=token
    )


def _send_claimed(mail: OutboxMail, rows: dict | None, token: str) -> SendOutcome:
    # The batch's rows double as the attachments' `loaded` rows (same keys: ("ticket", pk)).
    loaded = {} if rows is None else rows
    try:
        rendered = render_parts(mail, loaded=loaded, rows=rows, attachments=True)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        return _record_failure(mail, exc, token)
    message_id = rendered.headers["Message-ID"]
    # Right before SMTP, under the row lock (one conditional UPDATE): still our claim? Then
    # renew the lease for this conversation and store the Message-ID, so that whoever sends
    # this row again after a crash reuses it. Rendering (PDFs) may have taken a while.
    if not _ours(mail, token).update(
        next_attempt_at=timezone.now() + CLAIM_LEASE, message_id=message_id
    ):
        logger.warning("mail %s: claim lost before sending; another worker has it", mail.pk)
        return SendOutcome(status="lost")
    try:
        deliver_rendered(rendered)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        return _record_failure(mail, exc, token)
    now = timezone.now()
    sent = {
        "status": OutboxMail.Status.SENT,
        "subject": rendered.subject[:MAX_SUBJECT],
        "message_id": message_id,
        "sent_at": now,
        "next_attempt_at": None,
        "last_error": "",
        "claim_token": "",
        "updated_at": now,
    }
    if not _ours(mail, token).update(**sent):
        # The lease ran out while SMTP had the mail (a stalled worker, a database outage). It
        # was delivered, so say so unless another worker already did: one that has not sent
        # it yet then finds it sent and leaves it.
        OutboxMail.objects.filter(pk=mail.pk).exclude(status=OutboxMail.Status.SENT).update(**sent)
        logger.warning("mail %s: claim lost while sending; recorded as sent", mail.pk)
    return SendOutcome(status=OutboxMail.Status.SENT)


def _release(mail_ids: list[int], token: str) -> None:
    """Give claimed rows that were never attempted back: queued and due at once (the claim's
    attempt is not counted). The sweeper queues them on its next run."""
    OutboxMail.objects.filter(
        pk__in=mail_ids, status=OutboxMail.Status.SENDING, claim_token=token
    ).update(
        status=OutboxMail.Status.QUEUED,
        attempts=Greatest(F("attempts") - 1, 0),
        next_attempt_at=timezone.now(),
        claim_token="",
        updated_at=timezone.now(),
    )


class _LeaseKeeper:
    """Renews the leases of the claims this process holds, every LEASE_RENEW_SECONDS, from one
    daemon thread per process (started on first use, so after a prefork child is forked).

    The sending thread cannot renew while it waits for SMTP or renders a PDF; this thread can,
    so a live worker never loses a lease however slow its SMTP server is, and a dead one stops
    renewing with it. Each renewal is one conditional UPDATE per batch (only rows still
    `sending` under that batch's token), on this thread's own database connection, closed
    again after each round so it never outlives a database restart (or a test database).
    """

    def __init__(self) -> None:
        self._forked()
        # A thread does not survive fork(), and a lock held at that moment would stay held:
        # a forked child (a prefork pool process) starts from nothing and its own thread.
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._held: dict[str, set[int]] = {}
        self._lock = threading.Lock()
        self._sleep = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def hold(self, token: str, mail_ids: list[int]) -> Iterator:
        """Keep these claims' leases alive inside the block; the caller calls the yielded
        function with each mail's id once that mail is recorded (its lease is no longer ours
        to keep)."""
        held = set(mail_ids)

        def done(mail_id: int) -> None:
            with self._lock:
                held.discard(mail_id)

        with self._lock:
            self._held[token] = held
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbox-leases", daemon=True)
                self._thread.start()
        try:
            yield done
        finally:
            with self._lock:
                self._held.pop(token, None)

    def _run(self) -> None:
        while not self._sleep.wait(LEASE_RENEW_SECONDS):
            with self._lock:
                batches = [(token, list(ids)) for token, ids in self._held.items() if ids]
            if not batches:
                continue
            try:
                for token, ids in batches:
                    _renew(ids, token)
            except Exception:  # noqa: BLE001 - try again next round; the lease has slack
                logger.warning("outbox: renewing claim leases failed", exc_info=True)
            finally:
                connections.close_all()


def _renew(mail_ids: list[int], token: str) -> int:
    return OutboxMail.objects.filter(
        pk__in=mail_ids, status=OutboxMail.Status.SENDING, claim_token=token
    ).update(next_attempt_at=timezone.now() + CLAIM_LEASE)


_leases = _LeaseKeeper()


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


def _record_failure(mail: OutboxMail, exc: Exception, token: str) -> SendOutcome:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    if is_permanent(exc) or mail.attempts >= MAX_ATTEMPTS:
        if not _ours(mail, token).update(
            status=OutboxMail.Status.FAILED,
            last_error=error,
            next_attempt_at=None,
            claim_token="",
            updated_at=now,
        ):
            return _lost(mail)
        logger.error("mail %s failed permanently: %s", mail.pk, failure_log_reason(exc))
        return SendOutcome(status=OutboxMail.Status.FAILED)
    delay = backoff_seconds(mail.attempts)
    if not _ours(mail, token).update(
        status=OutboxMail.Status.RETRYING,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=delay),
        claim_token="",
        updated_at=now,
    ):
        return _lost(mail)
    logger.warning(
        "mail %s failed (attempt %s), retry in %ss: %s",
        mail.pk,
        mail.attempts,
        delay,
        failure_log_reason(exc),
    )
    return SendOutcome(status=OutboxMail.Status.RETRYING, retry_in=delay)


def _lost(mail: OutboxMail) -> SendOutcome:
    # Another worker holds the row now; its outcome is the one that counts.
    logger.warning("mail %s: claim lost before its failure was recorded", mail.pk)
    return SendOutcome(status="lost")
