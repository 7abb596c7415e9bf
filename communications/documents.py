"""Documents: build renderer data from rows, and the certificate services.

The renderers (communications.renderers) are pure; this module is the layer above them that
loads rows. Certificate services follow the project rules: keyword-only arguments, rule
violations as RuleViolation, writes inside transaction.atomic, tasks queued on commit.
"""

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from events.models import Event
from participants.checkin import checkin_window
from participants.models import CampaignParticipation, Ticket
from privacy.audit import audit_record

from .calendars import calendar_event
from .models import Certificate, CertificateRun
from .renderers import pdf
from .renderers.data import CalendarAttendee, CertificateDoc, TicketDoc
from .renderers.ics import render_ics

logger = logging.getLogger(__name__)

# Certificates rendered per WeasyPrint document in a run: large enough to spread the fixed
# per-document cost, small enough that progress moves and memory stays flat, and that the
# lanes finish together: the run's last chunk renders while the other lanes may have nothing
# left. 1,000 certificates on 2 lanes: 175/s in chunks of 100, 143/s in chunks of 200 (five
# chunks, the fifth alone), bench/documents.py.
CHUNK_SIZE = 100
DEFAULT_LANES = 2
STALE_RUN_AFTER = timedelta(minutes=15)
ACTIVE_RUN = (CertificateRun.Status.QUEUED, CertificateRun.Status.RUNNING)
PARTICIPATION_ELIGIBLE = (
    CampaignParticipation.Status.REGISTERED,
    CampaignParticipation.Status.CONFIRMED,
)


# --- Renderer data -------------------------------------------------------------------------
# The calendar data of an event (uid, location, public url, SEQUENCE = revision) comes from
# communications.calendars, shared with the outbox specs that snapshot it.


def event_ics(
    *, events: Sequence[Event], method: str = "PUBLISH", name: str = "", cancelled: bool = False
) -> bytes:
    """Calendar of events without an attendee (downloads, feeds). `cancelled` marks every event
    STATUS:CANCELLED, for a withdrawal that is not addressed to one attendee."""
    items = [calendar_event(e) for e in events]
    if cancelled:
        items = [dataclasses.replace(item, cancelled=True) for item in items]
    return render_ics(
        events=items,
        method=method,
        organiser_name=settings.ORGANISER_NAME,
        organiser_email=settings.ORGANISER_EMAIL,
        calendar_name=name,
    )


def ticket_ics(*, ticket: Ticket, method: str) -> bytes:
    """A personal iTIP invite (REQUEST) or its withdrawal (CANCEL) for one ticket's attendee."""
    person = ticket.person
    return render_ics(
        events=[calendar_event(ticket.event)],
        method=method,
        organiser_name=settings.ORGANISER_NAME,
        organiser_email=settings.ORGANISER_EMAIL,
        attendee=CalendarAttendee(
            name=person.name, email=person.email, language=person.preferred_language
        ),
    )


def attendee_ics(*, event: Event, attendee: CalendarAttendee, method: str) -> bytes:
    """A personal iTIP invite (REQUEST) or its withdrawal (CANCEL) of an event for one
    addressee without a ticket: a school contact, an ambassador, a journalist."""
    return render_ics(
        events=[calendar_event(event)],
        method=method,
        organiser_name=settings.ORGANISER_NAME,
        organiser_email=settings.ORGANISER_EMAIL,
        attendee=attendee,
    )


def ticket_doc(ticket: Ticket) -> TicketDoc:
    event = ticket.event
    return TicketDoc(
        language=ticket.person.preferred_language or ticket.registration.language,
        event_title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        venue_name=event.venue_name,
        venue_address=event.venue_address,
        online_url=event.online_url,
        attendee_name=ticket.person.name,
        ticket_type=ticket.ticket_type.name,
        booking_code=ticket.registration.code,
        secret=ticket.secret,
        organiser_name=settings.ORGANISER_NAME,
    )


# --- Ticket PDFs, stored once per content ----------------------------------------------------

# Bump when templates/documents/ticket*.html or print.css change what a ticket looks like, so
# stored PDFs of the old layout are no longer used.
TICKET_LAYOUT = 2
TICKET_PDF_DIR = "ticket-pdfs"
TICKET_CHUNK_SIZE = 100


def ticket_pdf_name(doc: TicketDoc) -> str:
    """Storage name of a ticket PDF: a digest of everything printed on it.

    A renamed attendee, a moved event (new revision), another language or layout gives another
    name, so a stored PDF is never stale; resends and reminders of an unchanged ticket reuse it.
    The digest covers the ticket secret, so the name cannot be guessed.
    """
    # Datetimes as UTC: the same instant must give the same name whether it was loaded from the
    # database (UTC) or built in another zone.
    fields = [
        value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
        for value in dataclasses.astuple(doc)
    ]
    digest = hashlib.sha256(repr((TICKET_LAYOUT, fields)).encode()).hexdigest()
    return f"{TICKET_PDF_DIR}/{digest[:2]}/{digest}.pdf"


def _stored(name: str) -> bytes | None:
    try:
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _store_ticket_pdf(name: str, content: bytes) -> None:
    # Two workers may render the same ticket at once; both copies are identical, so the loser's
    # file is simply not written (FileSystemStorage would otherwise save it under a new name).
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(content))


def ticket_pdf_bytes(ticket: Ticket) -> bytes:
    """The ticket PDF: the stored copy if this exact content was rendered before, else rendered
    now (and stored for the next resend or reminder)."""
    doc = ticket_doc(ticket)
    name = ticket_pdf_name(doc)
    content = _stored(name)
    if content is None:
        content = pdf.render_ticket_pdf(doc)
        _store_ticket_pdf(name, content)
    return content


def ticket_pdfs_prepare(*, ticket_ids: Sequence[int]) -> int:
    """Render the missing ticket PDFs of many tickets in bulk and store them; returns how many.

    One WeasyPrint layout per chunk, one PDF written per ticket, so the mail task for each
    confirmation only attaches stored bytes. Idempotent: tickets whose
    current PDF is stored already are skipped; deleted tickets are ignored.
    """
    tickets = (
        Ticket.objects.select_related("event", "person", "ticket_type", "registration")
        .filter(pk__in=list(ticket_ids))
        .order_by("pk")
    )
    missing: dict[str, TicketDoc] = {}
    for ticket in tickets:
        doc = ticket_doc(ticket)
        name = ticket_pdf_name(doc)
        if name not in missing and not default_storage.exists(name):
            missing[name] = doc
    items = list(missing.items())
    for start in range(0, len(items), TICKET_CHUNK_SIZE):
        chunk = items[start : start + TICKET_CHUNK_SIZE]
        parts = pdf.render_tickets_pdfs([doc for _name, doc in chunk])
        for (name, _doc), part in zip(chunk, parts, strict=True):
            _store_ticket_pdf(name, part)
    return len(items)


def ticket_pdfs_queue(*, ticket_ids: Sequence[int]) -> None:
    """After the current transaction commits, render these tickets' PDFs on the documents queue.

    Call it where a batch of bookings is confirmed, before their confirmation mails are sent;
    a mail whose PDF is not stored yet still renders it itself, so this only saves time.
    """
    from .tasks import render_ticket_pdfs_task

    ids = sorted(set(ticket_ids))
    for start in range(0, len(ids), TICKET_CHUNK_SIZE):
        chunk = ids[start : start + TICKET_CHUNK_SIZE]
        transaction.on_commit(lambda chunk=chunk: render_ticket_pdfs_task.delay(chunk))


def certificate_verify_url(certificate: Certificate) -> str:
    with translation.override(certificate.language):
        path = reverse("documents:certificate_verify", kwargs={"code": certificate.code})
    return settings.SITE_URL + path


def _event_hours(event: Event) -> float:
    return round((event.ends_at - event.starts_at).total_seconds() / 3600, 1)


def certificate_doc(certificate: Certificate) -> CertificateDoc:
    event = certificate.event
    common = {
        "language": certificate.language,
        "name": certificate.name,
        "event_title": event.title,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "verification_code": certificate.display_code,
        "verification_url": certificate_verify_url(certificate),
        "organiser_name": settings.ORGANISER_NAME,
    }
    if certificate.kind == Certificate.Kind.ORGANISATION:
        participation = certificate.participation
        labels = dict(CampaignParticipation.Activity.choices)
        with translation.override(certificate.language):
            activities = tuple(str(labels.get(a, a)) for a in participation.activities)
        return CertificateDoc(
            kind="organisation",
            activities=activities,
            employees_reached=participation.employees_reached,
            **common,
        )
    return CertificateDoc(kind="attendee", hours=_event_hours(event), **common)


def _certificates_for_render():
    return Certificate.objects.select_related(
        "event", "participation", "participation__organisation"
    )


def certificate_pdf_bytes(certificate: Certificate) -> bytes:
    """The stored PDF, or a fresh rendering when a run has not stored it yet."""
    if certificate.pdf:
        try:
            with default_storage.open(certificate.pdf.name, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            logger.warning("certificate %s: stored PDF missing, rendering again", certificate.pk)
    return pdf.render_certificate_pdf(certificate_doc(certificate))


def certificate_filename(certificate: Certificate) -> str:
    return f"certificate-{certificate.code}.pdf"


# --- Certificate services ------------------------------------------------------------------
#
# A certificate says that something happened, so it is only issued once the event has ended
# (its end strictly before now), by every path: one ticket, a bulk run, a run's later chunks.
# The verification page applies the same rule to what was issued earlier: a certificate issued
# before its event ended is not valid.


def event_has_ended(event: Event, at: datetime | None = None) -> bool:
    return event.ends_at < (at or timezone.now())


def _require_ended(event: Event) -> None:
    if not event_has_ended(event):
        raise RuleViolation(
            _("Certificates are only issued once the event has ended, after %(time)s.")
            % {"time": formats.date_format(timezone.localtime(event.ends_at), "j F Y H:i")},
            code="event_not_ended",
        )


def _attendee_eligible(event: Event):
    """Tickets checked in during the event's check-in window (only those people attended):
    a check-in recorded outside it (before the window existed) proves nothing."""
    opens, closes = checkin_window(event)
    return Ticket.objects.filter(
        event=event,
        status=Ticket.Status.VALID,
        checked_in_at__gte=opens,
        checked_in_at__lte=closes,
    )


def _participation_eligible(event: Event):
    return CampaignParticipation.objects.filter(event=event, status__in=PARTICIPATION_ELIGIBLE)


def _queue_certificate_mail(certificate: Certificate) -> None:
    from .services import mail_enqueue

    if certificate.kind == Certificate.Kind.ORGANISATION:
        to = certificate.participation.contact
        template = "organisation_certificate_issued"
    else:
        to = certificate.ticket.person
        template = "certificate_issued"
    mail_enqueue(
        key=f"certificate:{certificate.pk}",
        template=template,
        to_email=to.email,
        to_name=to.name,
        language=certificate.language,
        context={"certificate_id": certificate.pk},
        attachments=[{"type": "certificate_pdf", "certificate_id": certificate.pk}],
        event_id=certificate.event_id,
    )


def _new_certificate(*, kind: str, event: Event, ticket=None, participation=None, run_id=None):
    if kind == Certificate.Kind.ATTENDEE:
        name, language = ticket.person.name, ticket.person.preferred_language
    else:
        name = participation.organisation.name
        language = participation.contact.preferred_language
    return Certificate(
        kind=kind,
        event=event,
        ticket=ticket,
        participation=participation,
        name=name,
        language=language or "nl",
        run_id=run_id,
    )


def _store(certificate: Certificate, content: bytes) -> None:
    certificate.pdf.save(certificate_filename(certificate), ContentFile(content), save=False)
    Certificate.objects.filter(pk=certificate.pk).update(pdf=certificate.pdf.name)


def certificate_issue(*, ticket: Ticket, user=None, request=None) -> Certificate:
    """Issue (or return the existing) certificate of attendance for one checked-in ticket.

    Refused (`event_not_ended`) until the ticket's event has ended, and (`not_checked_in`) for
    a ticket that is not valid or was not checked in during the event's check-in window.
    Renders and stores the PDF and queues the certificate_issued mail in the same transaction.
    Issued by an organiser (`user`): audited as `certificate.issue` (ids only; the certificate
    carries the holder's name). Returning an existing certificate writes nothing.
    """
    with transaction.atomic():
        # Only the ticket row: the event row is the booking lock (events.locking) and must not
        # be held while a PDF renders. Runs take tickets with SKIP LOCKED, so they pass this one.
        locked = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("person", "event")
            .filter(pk=ticket.pk)
            .first()
        )
        if locked is not None:
            _require_ended(locked.event)
        if locked is None or not _attendee_eligible(locked.event).filter(pk=locked.pk).exists():
            raise RuleViolation(
                _("Only attendees who were checked in can get a certificate."),
                code="not_checked_in",
            )
        existing = Certificate.objects.filter(ticket=locked).first()
        if existing:
            return existing
        certificate = _new_certificate(
            kind=Certificate.Kind.ATTENDEE, event=locked.event, ticket=locked
        )
        certificate.save()
        _store(certificate, pdf.render_certificate_pdf(certificate_doc(certificate)))
        _queue_certificate_mail(certificate)
        if user is not None:
            audit_record(
                actor=user,
                action="certificate.issue",
                obj=certificate,
                request=request,
                event_id=certificate.event_id,
                ticket_id=locked.pk,
            )
        return certificate


def certificate_revoke(*, certificate: Certificate, user=None, request=None) -> Certificate:
    """Revoke a certificate: its verification page then says "revoked" and nothing more.
    Idempotent; revoked by an organiser (`user`) it is audited once, as `certificate.revoke`."""
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            if user is not None:
                audit_record(
                    actor=user,
                    action="certificate.revoke",
                    obj=locked,
                    request=request,
                    event_id=locked.event_id,
                    kind=locked.kind,
                )
        return locked


def certificate_run_start(*, event: Event, kind: str, user=None, request=None) -> CertificateRun:
    """Create a run for every eligible attendee (event) or organisation (campaign week).

    Refused (`event_not_ended`) until the event has ended. Returns the active run instead when
    one is queued or running; a run that made no progress for STALE_RUN_AFTER (a lost task) has
    its tasks queued again, which is safe because every task only issues what is still missing.
    Started by an organiser (`user`), a new run is audited as `certificate_run.start` and a
    re-queued stale one as `certificate_run.restart`; returning a run that is still moving
    writes nothing.
    """
    if kind not in Certificate.Kind.values:
        raise RuleViolation(
            _("Unknown kind of certificate."), code="invalid_kind", field="kind", conflict=False
        )
    if kind == Certificate.Kind.ORGANISATION and event.kind != Event.Kind.CAMPAIGN_WEEK:
        raise RuleViolation(
            _("Organisation certificates are only issued for a campaign week."),
            code="not_allowed",
            field="kind",
            conflict=False,
        )
    _require_ended(event)
    with transaction.atomic():
        active = (
            CertificateRun.objects.select_for_update()
            .filter(event=event, kind=kind, status__in=ACTIVE_RUN)
            .first()
        )
        if active:
            if active.updated_at < timezone.now() - STALE_RUN_AFTER:
                active.save(update_fields=["updated_at"])
                transaction.on_commit(lambda: _queue_run(active))
                if user is not None:
                    audit_record(
                        actor=user,
                        action="certificate_run.restart",
                        obj=active,
                        request=request,
                        event_id=event.pk,
                        kind=kind,
                    )
            return active
        run = CertificateRun.objects.create(
            event=event,
            kind=kind,
            total=_pending(event, kind).count(),
            created_by=user,
            lanes=run_lanes(),
        )
        if user is not None:
            audit_record(
                actor=user,
                action="certificate_run.start",
                obj=run,
                request=request,
                event_id=event.pk,
                kind=kind,
                total=run.total,
            )
        transaction.on_commit(lambda: _queue_run(run))
        return run


def run_lanes() -> int:
    """Parallel tasks per run: match the documents worker's concurrency (processes)."""
    return max(1, int(getattr(settings, "CERTIFICATE_RUN_LANES", DEFAULT_LANES)))


def _queue_run(run: CertificateRun) -> None:
    for lane in range(run.lanes):
        if lane in run.finished_lanes:
            continue
        try:
            render_certificate_run_task.delay(run.pk, lane)
        except Exception:  # noqa: BLE001
            # The run stays queued; starting it again after STALE_RUN_AFTER re-queues it.
            logger.warning("could not queue certificate run %s", run.pk, exc_info=True)


def _pending(event: Event, kind: str):
    """Eligible subjects without a certificate yet: what makes re-running a run a no-op."""
    if kind == Certificate.Kind.ATTENDEE:
        issued = Certificate.objects.filter(ticket=OuterRef("pk"))
        return _attendee_eligible(event).filter(~Exists(issued)).order_by("pk")
    issued = Certificate.objects.filter(participation=OuterRef("pk"))
    return _participation_eligible(event).filter(~Exists(issued)).order_by("pk")


def certificate_run_execute(
    *, run_id: int, lane: int = 0, chunk_size: int = CHUNK_SIZE, send_mail: bool = True
) -> CertificateRun:
    """Work on a run until nothing is left to issue. Idempotent and safe to run in parallel.

    Each chunk is one transaction that locks the subjects it takes with SKIP LOCKED, so the
    run's parallel tasks (and a redelivered task) never take the same person, then renders ONE
    WeasyPrint document for the chunk, splits it per person, stores the parts, queues the mails
    and adds to the run's progress. On SQLite (no row locks) writers are serialised anyway.
    When a task finds nothing left it records its lane; the last lane marks the run done.
    """
    with transaction.atomic():
        run = CertificateRun.objects.select_for_update().get(pk=run_id)
        if run.status in (CertificateRun.Status.DONE, CertificateRun.Status.FAILED):
            return run
        event = Event.objects.get(pk=run.event_id)
        if not event_has_ended(event):
            # Moved to a later date after the run was started: it issues nothing, and a new
            # run can be started once the event has ended.
            run.status = CertificateRun.Status.FAILED
            run.finished_at = timezone.now()
            run.last_error = "event_not_ended"
            run.save(update_fields=["status", "finished_at", "last_error", "updated_at"])
            return run
        if run.status != CertificateRun.Status.RUNNING:
            run.status = CertificateRun.Status.RUNNING
            run.started_at = run.started_at or timezone.now()
            run.save(update_fields=["status", "started_at", "updated_at"])
    while True:
        with transaction.atomic():
            issued = _issue_chunk(
                run_id=run_id,
                event=event,
                kind=run.kind,
                chunk_size=chunk_size,
                send_mail=send_mail,
            )
        if not issued:
            break
    with transaction.atomic():
        run = CertificateRun.objects.select_for_update().get(pk=run_id)
        if lane not in run.finished_lanes:
            run.finished_lanes = sorted([*run.finished_lanes, lane])
        if len(run.finished_lanes) >= run.lanes and run.status == CertificateRun.Status.RUNNING:
            run.status = CertificateRun.Status.DONE
            run.finished_at = timezone.now()
            run.total = max(run.total, run.done + run.failed)
        run.save(update_fields=["finished_lanes", "status", "finished_at", "total", "updated_at"])
        return run


def _take_pending(event: Event, kind: str, chunk_size: int) -> list:
    # The event's end is read again with every chunk: an event moved to a later date during a
    # run stops the run instead of certifying it early.
    pending = (
        _pending(event, kind)
        .filter(event__ends_at__lt=timezone.now())
        .select_for_update(skip_locked=True, of=("self",))
    )
    if kind == Certificate.Kind.ATTENDEE:
        return list(pending.select_related("person")[:chunk_size])
    return list(pending.select_related("organisation", "contact")[:chunk_size])


def _issue_chunk(*, run_id: int, event: Event, kind: str, chunk_size: int, send_mail: bool) -> int:
    """Precondition: inside transaction.atomic(). Returns how many certificates it issued."""
    subjects = _take_pending(event, kind, chunk_size)
    if not subjects:
        return 0
    subject_field = "ticket" if kind == Certificate.Kind.ATTENDEE else "participation"
    certificates = [
        _new_certificate(kind=kind, event=event, run_id=run_id, **{subject_field: s})
        for s in subjects
    ]
    try:
        with transaction.atomic():
            # One INSERT for the chunk; PostgreSQL and SQLite both return the primary keys. A
            # unique-constraint clash means a single issue got in between: go one by one.
            Certificate.objects.bulk_create(certificates)
    except IntegrityError:
        certificates = _create_one_by_one(certificates)
    if certificates:
        documents, ranges = pdf.render_certificates_pdf([certificate_doc(c) for c in certificates])
        parts = pdf.split_pdf(documents, ranges)
        for certificate, content in zip(certificates, parts, strict=True):
            certificate.pdf.save(
                certificate_filename(certificate), ContentFile(content), save=False
            )
        Certificate.objects.bulk_update(certificates, ["pdf"])
        if send_mail:
            for certificate in certificates:
                _queue_certificate_mail(certificate)
    run = CertificateRun.objects.select_for_update().get(pk=run_id)
    run.done += len(certificates)
    run.total = max(run.total, run.done + run.failed)
    run.save(update_fields=["done", "total", "updated_at"])
    # Subjects were taken (and are now issued or issued by someone else): the loop goes on.
    return len(subjects)


def _create_one_by_one(certificates: list[Certificate]) -> list[Certificate]:
    created = []
    for certificate in certificates:
        certificate.pk = None
        try:
            with transaction.atomic():
                certificate.save()
        except IntegrityError:
            continue
        created.append(certificate)
    return created


def certificate_get_by_code(code: str) -> Certificate | None:
    from .models import normalise_verification_code

    normalised = normalise_verification_code(code)
    if not normalised:
        return None
    return Certificate.objects.select_related("event").filter(Q(code=normalised)).first()


def certificate_verdict(certificate: Certificate) -> str:
    """What the public verification page says about a certificate: "revoked", "not_valid" (it
    was issued before its event had ended, so it cannot attest anything: rows from before that
    rule was enforced) or "valid"."""
    if certificate.is_revoked:
        return "revoked"
    if not event_has_ended(certificate.event, at=certificate.issued_at):
        return "not_valid"
    return "valid"


def run_counts(*, event: Event, kind: str) -> dict:
    """Eligible, already issued and still pending subjects, for the organiser's run page."""
    eligible = (
        _attendee_eligible(event)
        if kind == Certificate.Kind.ATTENDEE
        else _participation_eligible(event)
    ).count()
    pending = _pending(event, kind).count()
    return {"eligible": eligible, "issued": eligible - pending, "pending": pending}


def certificate_run_record_error(*, run_id: int, error: Exception, final: bool) -> None:
    with transaction.atomic():
        run = CertificateRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            return
        run.last_error = f"{type(error).__name__}: {error}"[:2000]
        if final:
            run.status = CertificateRun.Status.FAILED
            run.finished_at = timezone.now()
        run.save(update_fields=["last_error", "status", "finished_at"])


# --- Celery task ---------------------------------------------------------------------------
# Named into the communications.tasks namespace so settings.CELERY_TASK_ROUTES sends it to the
# `documents` queue with the other render_* tasks; loaded by workers through CELERY_IMPORTS.


@shared_task(
    bind=True,
    name="communications.tasks.render_certificate_run_task",
    max_retries=5,
    acks_late=True,
    ignore_result=True,
)
def render_certificate_run_task(self, run_id: int, lane: int = 0) -> str:
    """Work on one lane of a certificate run. A redelivery resumes where the last one stopped."""
    try:
        run = certificate_run_execute(run_id=run_id, lane=lane)
    except Exception as exc:
        certificate_run_record_error(
            run_id=run_id, error=exc, final=self.request.retries >= self.max_retries
        )
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
    return run.status
