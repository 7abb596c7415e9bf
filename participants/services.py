"""Registration rules: bookings, tickets, the waiting list and campaign-week sign-ups.

Every service that changes places taken on an event takes ``events.locking.lock_event`` first
and counts places with ``_capacity_check`` while holding it; nothing else decides whether a
place is free. Rule violations raise ``common.errors.RuleViolation`` before anything is written
(or inside the atomic block, which rolls everything back).
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.errors import RuleViolation
from common.prepared import PreparedInsert
from communications.calendars import calendar_snapshot, ics_attachment
from communications.services import event_mails_enqueue, mail_enqueue, mail_enqueue_many
from events.locking import lock_event
from events.models import Event, Question, TicketType
from events.services import NOTIFY_FIELDS, event_revision_bump
from organisations.models import Organisation, Region
from organisations.validators import normalise_kvk, normalise_postcode
from payments import hooks as payment_hooks

from . import selectors
from .models import (
    Answer,
    CampaignParticipation,
    Language,
    Person,
    Registration,
    Ticket,
    WaitingListEntry,
    new_secret,
)

logger = logging.getLogger(__name__)

ACTORS = ("attendee", "booker", "organisation", "organiser")


@dataclass(frozen=True)
class AttendeeInput:
    name: str
    email: str
    ticket_type_id: int
    answers: dict[int, str] = field(default_factory=dict)
    language: str = "nl"


class _Errors:
    """Collects field errors so the user sees every problem at once, then raises one error."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.first: tuple[str, str] | None = None

    def add(self, key: str, message: str, code: str = "invalid") -> None:
        self.errors.setdefault(key, []).append(str(message))
        if self.first is None:
            self.first = (str(message), code)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self, *, conflict: bool = False) -> None:
        if not self.errors:
            return
        message, code = self.first
        if sum(len(v) for v in self.errors.values()) > 1:
            message = _("Please correct the marked fields.")
        raise RuleViolation(message, code=code, conflict=conflict, errors=self.errors)


# --- capacity --------------------------------------------------------------------------------


def _places_taken(*, event_id: int) -> dict[int, int]:
    """The count step of the capacity check: {ticket type id: places taken}, whose sum is the
    event's places taken, in one query (a separate function so tests can widen the race)."""
    return selectors.places_taken_per_ticket_type(event_id=event_id)


def _places_left(
    *, event: Event, ticket_types: list[TicketType], under_lock: bool = True
) -> tuple[int | None, dict[int, int]]:
    """Places left on the event (None: no limit) and for each given ticket type that has a
    capacity of its own. The one definition of "free" used by booking and by offering.

    Precondition: the caller holds ``lock_event(event.pk)`` and ``event`` is the instance it
    returned, so capacity and the count belong to the same moment and no other writer can
    add a place before this transaction commits.
    """
    # (An early look without the lock counts directly: the tests widen the race of the count
    # under the lock only.)
    taken = (
        _places_taken(event_id=event.pk)
        if under_lock
        else selectors.places_taken_per_ticket_type(event_id=event.pk)
    )
    event_left = None
    if event.capacity is not None:
        event_left = event.capacity - sum(taken.values())
    type_left = {
        tt.pk: tt.capacity - taken.get(tt.pk, 0) for tt in ticket_types if tt.capacity is not None
    }
    return event_left, type_left


def _capacity_check(
    *,
    event: Event,
    wanted: Counter,
    ticket_types: dict[int, TicketType] | None = None,
    already_written: bool = False,
    under_lock: bool = True,
) -> None:
    """Raise sold_out / ticket_type_sold_out unless ``wanted`` ({ticket type id: places})
    fits. Precondition: as ``_places_left``. ``ticket_types`` ({id: type}, covering
    ``wanted``): rows the caller already read in this transaction, so they are not read again
    under the lock. Ticket-type capacity is edited without the event lock, so a read made just
    before the lock is as current as one made under it. ``already_written``: this transaction
    has inserted the wanted tickets already (they are in the count). ``under_lock=False``: an
    early refusal before the lock (nothing is written on its word)."""
    types = ticket_types if ticket_types is not None else TicketType.objects.in_bulk(list(wanted))
    types = {pk: types[pk] for pk in wanted}
    event_left, type_left = _places_left(
        event=event, ticket_types=list(types.values()), under_lock=under_lock
    )
    total = sum(wanted.values())
    if already_written:
        # What was left for this booking is what is left now plus what it took.
        event_left = None if event_left is None else event_left + total
        type_left = {pk: left + wanted.get(pk, 0) for pk, left in type_left.items()}
    if event_left is not None and total > event_left:
        raise RuleViolation(
            _("Sorry, this event is fully booked.")
            if event_left <= 0
            else ngettext(
                "Only %(count)d place is left for this event.",
                "Only %(count)d places are left for this event.",
                event_left,
            )
            % {"count": event_left},
            code="sold_out",
        )
    for tt_id, n in wanted.items():
        left = type_left.get(tt_id)
        if left is None or n <= left:
            continue
        name = types[tt_id].name
        raise RuleViolation(
            _("Sorry, the ticket type “%(name)s” is sold out.") % {"name": name}
            if left <= 0
            else ngettext(
                "Only %(count)d place is left for “%(name)s”.",
                "Only %(count)d places are left for “%(name)s”.",
                left,
            )
            % {"count": left, "name": name},
            code="ticket_type_sold_out",
        )


# --- shared checks ---------------------------------------------------------------------------


def _check_registration_window(event: Event) -> None:
    now = timezone.now()
    if event.status == Event.Status.CANCELLED:
        raise RuleViolation(_("This event has been cancelled."), code="registration_closed")
    if event.status != Event.Status.PUBLISHED or (
        event.registration_opens_at and now < event.registration_opens_at
    ):
        raise RuleViolation(
            _("Registration for this event is not open yet."), code="registration_not_open"
        )
    if now >= (event.registration_closes_at or event.starts_at):
        raise RuleViolation(_("Registration for this event is closed."), code="registration_closed")


def _check_deadline(event: Event, actor: str) -> None:
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}")
    if actor == "organiser":
        # Organisers may change bookings after the deadline (e.g. illness on the day).
        return
    deadline = event.cancellation_deadline or event.starts_at
    if timezone.now() >= deadline:
        raise RuleViolation(
            _("The deadline for changes and cancellations has passed."), code="deadline_passed"
        )


def _clean_email(value: str, key: str, errors: _Errors) -> str:
    value = (value or "").strip()
    if not value:
        errors.add(key, _("Enter an e-mail address."))
        return value
    try:
        validate_email(value)
    except ValidationError:
        errors.add(key, _("Enter a valid e-mail address."))
    return value


def _clean_name(value: str, key: str, errors: _Errors) -> str:
    value = (value or "").strip()
    if not value:
        errors.add(key, _("Enter a name."))
    elif len(value) > 200:
        errors.add(key, _("Use at most 200 characters."))
    return value


def _clean_language(value: str) -> str:
    return value if value in Language.values else Language.NL


def _validate_answers(
    *, questions: list[Question], answers: dict, prefix: str, errors: _Errors
) -> dict[int, str]:
    by_id = {q.pk: q for q in questions}
    cleaned: dict[int, str] = {}
    for raw_id, raw_value in (answers or {}).items():
        try:
            qid = int(raw_id)
        except (TypeError, ValueError):
            qid = None
        if qid not in by_id:
            errors.add(
                f"{prefix}.answers.{raw_id}", _("This question does not exist."), "invalid_answer"
            )
            continue
        cleaned[qid] = "" if raw_value is None else str(raw_value).strip()
    for q in questions:
        value = cleaned.get(q.pk, "")
        key = f"{prefix}.answers.{q.pk}"
        if not value:
            if q.required:
                errors.add(key, _("Please answer this question."), "invalid_answer")
            continue
        if q.kind == Question.Kind.CHOICE and value not in q.choice_list:
            errors.add(key, _("Choose one of the options."), "invalid_answer")
        elif q.kind == Question.Kind.YES_NO and value not in ("yes", "no"):
            errors.add(key, _("Answer yes or no."), "invalid_answer")
        elif len(value) > 2000:
            errors.add(key, _("Use at most 2000 characters."), "invalid_answer")
    return {qid: v for qid, v in cleaned.items() if v}


@dataclass
class _CleanAttendee:
    name: str
    email: str
    ticket_type: TicketType
    answers: dict[int, str]
    language: str


def _clean_attendees(
    *,
    event: Event,
    attendees: list[AttendeeInput],
    errors: _Errors,
    prefix: str = "attendees",
    prefetched_from: Event | None = None,
) -> list[_CleanAttendee]:
    # A caller that read the event with its ticket types and questions in this request (the
    # API) passes that instance as ``prefetched_from``: no second read of the same rows.
    cache = getattr(prefetched_from, "_prefetched_objects_cache", {})
    if "ticket_types" in cache:
        types = {tt.pk: tt for tt in cache["ticket_types"]}
    else:
        types = {tt.pk: tt for tt in TicketType.objects.filter(event=event)}
    if "questions" in cache:
        questions = list(cache["questions"])
    else:
        questions = list(Question.objects.filter(event=event))
    cleaned = []
    for i, a in enumerate(attendees):
        p = f"{prefix}.{i}"
        name = _clean_name(a.name, f"{p}.name", errors)
        email = _clean_email(a.email, f"{p}.email", errors)
        tt = types.get(a.ticket_type_id)
        if tt is None:
            errors.add(f"{p}.ticket_type", _("Choose a ticket type of this event."))
        elif not tt.is_active:
            errors.add(f"{p}.ticket_type", _("This ticket type is not on sale."))
        answers = _validate_answers(questions=questions, answers=a.answers, prefix=p, errors=errors)
        cleaned.append(_CleanAttendee(name, email, tt, answers, _clean_language(a.language)))
    return cleaned


def _check_duplicate_emails(
    *,
    event: Event,
    emails: list[tuple[str, str]],
    exclude_ticket_id: int | None = None,
    new_people: Iterable[Person] = (),
) -> None:
    """``emails``: (error key, address). Precondition: the caller holds the event lock, so no
    other booking for the same address can slip in between this check and the insert.
    ``new_people``: people this transaction created for the booking (skipped: no tickets yet)."""
    if event.allow_duplicate_emails:
        return
    errors = _Errors()
    seen: set[str] = set()
    for key, email in emails:
        if email.lower() in seen:
            errors.add(
                key, _("This e-mail address is used twice in this booking."), "duplicate_email"
            )
        seen.add(email.lower())
    errors.raise_if_any(conflict=False)
    # Ask only about these addresses: the database compares, not Python over every ticket.
    existing = selectors.emails_holding_places(
        event_id=event.pk,
        emails={email.lower() for _key, email in emails},
        exclude_ticket_id=exclude_ticket_id,
        exclude_person_ids=[p.pk for p in new_people],
    )
    for key, email in emails:
        if email.lower() in existing:
            errors.add(
                key,
                _("This e-mail address already has a ticket for this event."),
                "duplicate_email",
            )
    errors.raise_if_any(conflict=True)


# --- mails -----------------------------------------------------------------------------------


def _ticket_confirmed_mail(
    ticket: Ticket, *, event: Event, key: str | None = None, snapshot: dict | None = None
) -> dict:
    """The ``mail_enqueue`` arguments of a ticket's confirmation. Its invite is ``event`` as it
    is now (communications.calendars): the caller passes the event it holds the lock of."""
    return {
        "key": key or f"ticket_confirmed:{ticket.pk}",
        "template": "ticket_confirmed",
        "to_email": ticket.person.email,
        "to_name": ticket.person.name,
        "language": ticket.person.preferred_language,
        "context": {"ticket_id": ticket.pk},
        "attachments": [
            {"type": "ticket_pdf", "ticket_id": ticket.pk},
            ics_attachment(event=event, method="REQUEST", ticket_id=ticket.pk, snapshot=snapshot),
        ],
        "event_id": ticket.event_id,
    }


def _mail_ticket_confirmed(ticket: Ticket, *, event: Event, key: str | None = None) -> None:
    mail_enqueue(**_ticket_confirmed_mail(ticket, event=event, key=key))


def _mail_ticket_cancelled(
    ticket: Ticket,
    *,
    person: Person,
    event: Event,
    key: str | None = None,
    snapshot: dict | None = None,
) -> None:
    """Tell ``person`` their place is gone, with the CANCEL that removes only them from the
    event (RFC 5546 3.2.5: no STATUS:CANCELLED, the event goes on). Precondition: the caller
    holds the event lock and bumped its revision (``event_revision_bump``) for this removal."""
    mail_enqueue(
        key=key or f"ticket_cancelled:{ticket.pk}",
        template="ticket_cancelled",
        to_email=person.email,
        to_name=person.name,
        language=person.preferred_language,
        context={"ticket_id": ticket.pk, "person_id": person.pk},
        attachments=[
            ics_attachment(
                event=event,
                method="CANCEL",
                ticket_id=ticket.pk,
                attendee_removed=True,
                snapshot=snapshot,
            )
        ],
        event_id=ticket.event_id,
    )


def _booker_mail(reg: Registration, *, template: str, key: str, **extra) -> dict:
    """The ``mail_enqueue`` arguments of a mail to the booker."""
    return {
        "key": key,
        "template": template,
        "to_email": reg.booker.email,
        "to_name": reg.booker.name,
        "language": reg.language,
        "context": {"registration_id": reg.pk, **extra},
        "event_id": reg.event_id,
    }


def _mail_booker(reg: Registration, *, template: str, key: str, **extra) -> None:
    mail_enqueue(**_booker_mail(reg, template=template, key=key, **extra))


def _confirm_tickets_and_mail(reg: Registration, tickets: list[Ticket], *, event: Event) -> None:
    # One batch: this runs under the event lock, so two statements instead of two per mail.
    snapshot = calendar_snapshot(event)
    mail_enqueue_many(
        mails=[
            *(_ticket_confirmed_mail(t, event=event, snapshot=snapshot) for t in tickets),
            _booker_mail(reg, template="booking_confirmed", key=f"booking_confirmed:{reg.pk}"),
        ]
    )


# --- bookings --------------------------------------------------------------------------------


# A booking's inserts, each one statement built once per number of rows (common.prepared):
# the ORM compiled each of them anew, ~0.7 ms of CPU per statement on the benchmark machine.
_insert_people = PreparedInsert(Person)
_insert_registrations = PreparedInsert(Registration)
_insert_tickets = PreparedInsert(Ticket)
_insert_answers = PreparedInsert(Answer)


def _booking_write(
    *,
    event: Event,
    booker: Person,
    attendees: list[tuple[Person, TicketType, dict[int, str]]],
    organisation: Organisation | None,
    language: str,
    payment_method: str,
) -> Registration:
    """Check capacity, then create the booking (``_booking_rows``) and call payments.

    Precondition: the caller holds ``lock_event(event.pk)``, validated the input and checked
    the registration rules.
    """
    _capacity_check(
        event=event,
        wanted=Counter(tt.pk for _p, tt, _a in attendees),
        ticket_types={tt.pk: tt for _p, tt, _a in attendees},
    )
    reg = _booking_rows(
        event=event,
        booker=booker,
        attendees=attendees,
        organisation=organisation,
        language=language,
        payment_method=payment_method,
    )
    _booking_payments(reg, attendees)
    return reg


def _booking_payments(reg: Registration, attendees) -> None:
    """Hand a booking with paid tickets to payments (an invoice booking gets its invoice
    number here). Precondition: the caller holds the event lock, which is always taken before
    the invoice counter's, so the two never wait for each other in opposite orders."""
    if reg.status != Registration.Status.PENDING_APPROVAL and any(
        not tt.is_free for _p, tt, _a in attendees
    ):
        payment_hooks.on_registration_created(registration=reg)


def _booking_rows(
    *,
    event: Event,
    booker: Person,
    attendees: list[tuple[Person, TicketType, dict[int, str]]],
    organisation: Organisation | None,
    language: str,
    payment_method: str,
) -> Registration:
    """Insert the booking, its tickets and answers (one statement per table) and queue its
    mails; no capacity check and no payments. The status follows ``event``'s rules: approval,
    or a payment hold for paid tickets paid online, else confirmed."""
    any_paid = any(not tt.is_free for _p, tt, _a in attendees)
    now = timezone.now()
    if event.requires_approval:
        status, ticket_status, hold = (
            Registration.Status.PENDING_APPROVAL,
            Ticket.Status.RESERVED,
            None,
        )
    elif any_paid and payment_method == Registration.PaymentMethod.ONLINE:
        status, ticket_status = Registration.Status.AWAITING_PAYMENT, Ticket.Status.RESERVED
        hold = now + timedelta(minutes=event.payment_hold_minutes)
    else:
        status, ticket_status, hold = Registration.Status.CONFIRMED, Ticket.Status.VALID, None
    reg = Registration(
        event=event,
        organisation=organisation,
        booker=booker,
        status=status,
        language=language,
        payment_method=payment_method,
        hold_expires_at=hold,
    )
    _insert_registrations([reg])
    tickets = [
        Ticket(registration=reg, event=event, ticket_type=tt, person=person, status=ticket_status)
        for person, tt, _a in attendees
    ]
    _insert_tickets(tickets)
    _insert_answers(
        [
            Answer(ticket=ticket, question_id=qid, value=v)
            for ticket, (_p, _tt, person_answers) in zip(tickets, attendees, strict=True)
            for qid, v in person_answers.items()
        ]
    )
    if status == Registration.Status.PENDING_APPROVAL:
        _mail_booker(reg, template="booking_pending_approval", key=f"booking_pending:{reg.pk}")
    elif status == Registration.Status.CONFIRMED:
        _confirm_tickets_and_mail(reg, tickets, event=event)
    # The tickets as written (person and ticket type attached), for a caller that renders the
    # new booking at once: it need not read them back while the lock is still held.
    reg.created_tickets = tickets
    return reg


def _mail_change_missed(*, read: Event, locked: Event, reg: Registration) -> None:
    """The confirmations were queued with the event as read before the lock (their invites
    say its time and place then). An organiser who moved the event in between mailed the
    tickets committed at that moment, which these were not: they get that update now, under
    the same key the change would have used."""
    if reg.status != Registration.Status.CONFIRMED or all(
        getattr(read, name) == getattr(locked, name) for name in NOTIFY_FIELDS
    ):
        return
    event_mails_enqueue(
        event=locked, template="event_changed", method="REQUEST", tickets=reg.created_tickets
    )


def _organisation_for_booking(*, kvk_number: str, name: str, errors) -> Organisation | None:
    """The employer named on a public booking: the existing organisation with this KvK number,
    or a new unlisted employer. Caller holds the booking transaction."""
    try:
        kvk = normalise_kvk(kvk_number)
    except ValidationError as exc:
        errors.add("kvk_number", exc.messages[0])
        return None
    existing = Organisation.objects.filter(kvk_number=kvk).first()
    if existing is not None:
        return existing
    name = (name or "").strip()
    if not name:
        errors.add("organisation_name", _("Enter the name of the organisation."))
        return None
    return Organisation.objects.create(
        kind=Organisation.Kind.EMPLOYER, name=name[:200], kvk_number=kvk
    )


def registration_create(
    *,
    event: Event,
    booker_name: str,
    booker_email: str,
    attendees: list[AttendeeInput],
    organisation: Organisation | None = None,
    organisation_kvk: str = "",
    organisation_name: str = "",
    language: str = "nl",
    payment_method: str = "online",
    savepoint: bool = True,
) -> Registration:
    """Book places for one or more attendees. See docs/contracts.md for the status rules.

    `organisation_kvk` (+ `organisation_name`) names the employer a public booking is made for:
    it is found by KvK number or created, in this transaction, so a refused booking leaves no
    organisation behind. `organisation` (a row) is for callers that already know it (portal, API).

    ``savepoint=False`` is for a caller that opened the transaction itself and rolls all of
    it back when this raises (the API's Idempotency-Key wrapper): the savepoint would only
    cost two round trips to the database.
    """
    with transaction.atomic(savepoint=savepoint):
        # Validate before taking the lock: bad input never queues behind other bookings and
        # the lock is held only for what depends on them (e-mail addresses, places).
        passed = event
        if "ticket_types" not in getattr(passed, "_prefetched_objects_cache", {}):
            # The API passes the event it read (with ticket types and questions) in this very
            # request; others may pass an older instance. Either way the rules are checked
            # again on the locked, fresh row below.
            event = Event.objects.get(pk=event.pk)
        _check_registration_window(event)
        errors = _Errors()
        booker_name = _clean_name(booker_name, "booker_name", errors)
        booker_email = _clean_email(booker_email, "booker_email", errors)
        if organisation is None and organisation_kvk:
            organisation = _organisation_for_booking(
                kvk_number=organisation_kvk, name=organisation_name, errors=errors
            )
        if payment_method not in Registration.PaymentMethod.values:
            errors.add("payment_method", _("Choose a payment method."))
        elif payment_method == Registration.PaymentMethod.INVOICE and organisation is None:
            errors.add(
                "payment_method",
                _("Paying by invoice is only possible when booking for an organisation."),
                "not_allowed",
            )
        if not attendees:
            errors.add("attendees", _("Add at least one attendee."))
        elif len(attendees) > event.max_tickets_per_booking:
            errors.add(
                "attendees",
                ngettext(
                    "You can book at most %(count)d attendee at a time.",
                    "You can book at most %(count)d attendees at a time.",
                    event.max_tickets_per_booking,
                )
                % {"count": event.max_tickets_per_booking},
                "too_many_attendees",
            )
        clean = _clean_attendees(
            event=event, attendees=attendees or [], errors=errors, prefetched_from=passed
        )
        errors.raise_if_any()
        wanted = Counter(a.ticket_type.pk for a in clean)
        types = {a.ticket_type.pk: a.ticket_type for a in clean}
        # Refuse at once what is full already, before writing anything: when an event sells
        # out, most requests come after that. Without the lock a place freed meanwhile is
        # missed, as if this request had come a moment earlier; the check under the lock
        # below is the one that keeps the event from being oversold.
        _capacity_check(event=event, wanted=wanted, ticket_types=types, under_lock=False)
        # The people do not depend on other bookings either: insert them (one statement)
        # before the lock. A refused booking rolls them back with everything else.
        language = _clean_language(language)
        booker, *people = [
            Person(
                name=booker_name,
                email=booker_email,
                organisation=organisation,
                preferred_language=language,
            ),
            *(
                Person(
                    name=a.name,
                    email=a.email,
                    organisation=organisation,
                    preferred_language=a.language,
                )
                for a in clean
            ),
        ]
        _insert_people([booker, *people])
        # The booking's own rows do not depend on other bookings either: written before the
        # lock too, so the lock is held only for the checks and the commit. A check that
        # fails below rolls everything back; until the commit no other booking sees them.
        # (The status follows the rules as read before the lock; an organiser switching
        # approval on at that very moment does not apply to a booking already being made.)
        chosen = [
            (person, a.ticket_type, a.answers) for person, a in zip(people, clean, strict=True)
        ]
        reg = _booking_rows(
            event=event,
            booker=booker,
            attendees=chosen,
            organisation=organisation,
            language=language,
            payment_method=payment_method,
        )
        read = event
        event = lock_event(event.pk)
        # Under the lock only what depends on other bookings: the rules that may have
        # changed meanwhile (the organiser may have closed or cancelled the event), this
        # booking's addresses and the count, which includes this booking's own tickets.
        _check_registration_window(event)
        _check_duplicate_emails(
            event=event,
            emails=[(f"attendees.{i}.email", a.email) for i, a in enumerate(clean)],
            new_people=[booker, *people],
        )
        _capacity_check(event=event, wanted=wanted, ticket_types=types, already_written=True)
        _booking_payments(reg, chosen)
        _mail_change_missed(read=read, locked=event, reg=reg)
        return reg


def _locked_registration(registration: Registration) -> tuple[Event, Registration]:
    """Lock the booking's event and reload the booking. Precondition: inside atomic."""
    event = lock_event(registration.event_id)
    return event, Registration.objects.select_related("booker").get(pk=registration.pk)


def _sync(instance, fresh) -> None:
    # Callers keep using the instance they passed in; give it the committed state.
    instance.__dict__.update({k: v for k, v in fresh.__dict__.items() if not k.startswith("_")})


def registration_confirm(*, registration: Registration) -> Registration:
    """Confirm a booking that was awaiting payment or approval: tickets become valid, mails go.

    Idempotent (a confirmed booking is returned unchanged). A payment that arrives after the
    hold expired reactivates the booking if its places are still free, else raises sold_out so
    payments can refund.
    """
    with transaction.atomic():
        event, reg = _locked_registration(registration)
        if reg.status == Registration.Status.CONFIRMED:
            _sync(registration, reg)
            return registration
        if reg.status == Registration.Status.EXPIRED:
            cancelled = reg.tickets.filter(status=Ticket.Status.CANCELLED)
            # Only the tickets the expiry released (one timestamp): a ticket its attendee
            # cancelled earlier stays cancelled.
            expired_at = cancelled.aggregate(at=Max("cancelled_at"))["at"]
            tickets = list(cancelled.filter(cancelled_at=expired_at).select_related("person"))
            # Someone may have booked the released places or the same address meanwhile.
            _check_duplicate_emails(
                event=event, emails=[(f"tickets.{t.pk}", t.person.email) for t in tickets]
            )
            _capacity_check(event=event, wanted=Counter(t.ticket_type_id for t in tickets))
        elif reg.status in (
            Registration.Status.AWAITING_PAYMENT,
            Registration.Status.PENDING_APPROVAL,
        ):
            tickets = list(reg.tickets.filter(status=Ticket.Status.RESERVED))
        else:
            raise RuleViolation(_("This booking can no longer be confirmed."), code="not_allowed")
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
            status=Ticket.Status.VALID, cancelled_at=None
        )
        reg.status = Registration.Status.CONFIRMED
        reg.hold_expires_at = None
        reg.save(update_fields=["status", "hold_expires_at", "updated_at"])
        tickets = list(
            Ticket.objects.filter(pk__in=[t.pk for t in tickets]).select_related("person")
        )
        _confirm_tickets_and_mail(reg, tickets, event=event)
        _sync(registration, reg)
        return registration


def registration_approve(*, registration: Registration, user) -> Registration:
    """Approve a booking that needs approval: confirmed, or awaiting payment if paid online."""
    with transaction.atomic():
        event, reg = _locked_registration(registration)
        if reg.status in (Registration.Status.CONFIRMED, Registration.Status.AWAITING_PAYMENT):
            _sync(registration, reg)
            return registration
        if reg.status != Registration.Status.PENDING_APPROVAL:
            raise RuleViolation(_("This booking is not awaiting approval."), code="not_allowed")
        logger.info("booking %s approved by user %s", reg.pk, getattr(user, "pk", None))
        any_paid = reg.tickets.filter(ticket_type__price_cents__gt=0).exists()
        if any_paid and reg.payment_method == Registration.PaymentMethod.ONLINE:
            reg.status = Registration.Status.AWAITING_PAYMENT
            reg.hold_expires_at = timezone.now() + timedelta(minutes=event.payment_hold_minutes)
            reg.save(update_fields=["status", "hold_expires_at", "updated_at"])
        else:
            registration_confirm(registration=reg)
        if any_paid:
            payment_hooks.on_registration_created(registration=reg)
        _sync(registration, reg)
        return registration


def _release(*, event: Event, tickets: list[Ticket], actor: str | None) -> None:
    """Cancel tickets, tell payments and the attendees, offer the places to the waiting list.

    Precondition: the caller holds ``lock_event(event.pk)``.
    """
    if not tickets:
        return
    now = timezone.now()
    was_valid = [t for t in tickets if t.status == Ticket.Status.VALID]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        status=Ticket.Status.CANCELLED, cancelled_at=now
    )
    for t in tickets:
        t.status, t.cancelled_at = Ticket.Status.CANCELLED, now
    if actor is not None:
        payment_hooks.on_tickets_cancelled(tickets=tickets, by_organiser=actor == "organiser")
    _offer_free_places(event=event)
    if was_valid:
        # Their CANCEL removes them only, under a new SEQUENCE (events.services). Written
        # after the places are counted: the event lock orders cancellations; a row update
        # before the count would serialise them as well and hide a missing lock (the control
        # in tests/participants/test_concurrency_pg.py).
        event_revision_bump(event=event)
        snapshot = calendar_snapshot(event)
        for t in was_valid:
            _mail_ticket_cancelled(t, person=t.person, event=event, snapshot=snapshot)


def registration_reject(*, registration: Registration, user, reason: str = "") -> Registration:
    with transaction.atomic():
        event, reg = _locked_registration(registration)
        if reg.status == Registration.Status.REJECTED:
            _sync(registration, reg)
            return registration
        if reg.status != Registration.Status.PENDING_APPROVAL:
            raise RuleViolation(_("This booking is not awaiting approval."), code="not_allowed")
        logger.info("booking %s rejected by user %s", reg.pk, getattr(user, "pk", None))
        reg.status = Registration.Status.REJECTED
        reg.save(update_fields=["status", "updated_at"])
        tickets = list(reg.tickets.filter(status__in=Ticket.HOLDS_PLACE).select_related("person"))
        # Nothing was paid for a booking awaiting approval, so payments is not involved.
        _release(event=event, tickets=tickets, actor=None)
        _mail_booker(
            reg, template="booking_rejected", key=f"booking_rejected:{reg.pk}", reason=reason
        )
        _sync(registration, reg)
        return registration


def registration_expire(
    *, registration: Registration, provider_failed: bool = False
) -> Registration:
    """Payment did not arrive in time: free the places. Idempotent; only awaiting_payment.

    ``provider_failed``: our last try to let the booker pay failed at the payment provider, so
    the mail says that instead of suggesting the booker paid too late."""
    with transaction.atomic():
        event, reg = _locked_registration(registration)
        if reg.status != Registration.Status.AWAITING_PAYMENT:
            _sync(registration, reg)
            return registration
        reg.status = Registration.Status.EXPIRED
        reg.save(update_fields=["status", "updated_at"])
        tickets = list(reg.tickets.filter(status__in=Ticket.HOLDS_PLACE).select_related("person"))
        _release(event=event, tickets=tickets, actor=None)
        extra = {"provider_failed": True} if provider_failed else {}
        _mail_booker(reg, template="booking_expired", key=f"booking_expired:{reg.pk}", **extra)
        _sync(registration, reg)
        return registration


def _checked_in_refused() -> RuleViolation:
    return RuleViolation(
        _(
            "This ticket has been checked in: the visit has taken place, so the ticket can no "
            "longer be cancelled."
        ),
        code="checked_in",
    )


def registration_cancel(*, registration: Registration, actor: str = "booker") -> Registration:
    """Cancel a booking: every ticket that holds a place and has not been checked in.

    A checked-in ticket is attendance that happened (and the database allows a check-in only on
    a valid ticket): like pretix, it is neither cancelled nor refunded. Those tickets stay
    valid and the booking stays open for them; the caller tells the booker which were kept
    (the booking's tickets with ``checked_in_at``). A booking whose every place is checked in
    has nothing left to cancel: ``checked_in``, and nothing changes.
    """
    with transaction.atomic():
        event, reg = _locked_registration(registration)
        if reg.status not in selectors.ACTIVE_REGISTRATION_STATUSES:
            raise RuleViolation(_("This booking is already cancelled."), code="already_cancelled")
        holding = reg.tickets.filter(status__in=Ticket.HOLDS_PLACE)
        tickets = list(holding.filter(checked_in_at__isnull=True).select_related("person"))
        if not tickets and holding.exists():
            raise RuleViolation(
                _(
                    "Every ticket of this booking has been checked in: the visit has taken "
                    "place, so the booking can no longer be cancelled."
                ),
                code="checked_in",
            )
        _check_deadline(event, actor)
        if len(tickets) == holding.count():
            reg.status = Registration.Status.CANCELLED
            reg.hold_expires_at = None
            reg.save(update_fields=["status", "hold_expires_at", "updated_at"])
        _release(event=event, tickets=tickets, actor=actor)
        _sync(registration, reg)
        return registration


def _locked_ticket(ticket: Ticket) -> tuple[Event, Ticket]:
    event = lock_event(ticket.event_id)
    return event, Ticket.objects.select_related("person", "registration", "ticket_type").get(
        pk=ticket.pk
    )


def ticket_cancel(*, ticket: Ticket, actor: str = "attendee") -> Ticket:
    with transaction.atomic():
        event, fresh = _locked_ticket(ticket)
        if fresh.status not in Ticket.HOLDS_PLACE:
            raise RuleViolation(_("This ticket is already cancelled."), code="already_cancelled")
        if fresh.checked_in_at is not None:
            # Attendance that happened: not cancelled, not refunded (registration_cancel).
            raise _checked_in_refused()
        _check_deadline(event, actor)
        _release(event=event, tickets=[fresh], actor=actor)
        reg = fresh.registration
        if not reg.tickets.filter(status__in=Ticket.HOLDS_PLACE).exists():
            reg.status = Registration.Status.CANCELLED
            reg.hold_expires_at = None
            reg.save(update_fields=["status", "hold_expires_at", "updated_at"])
        _sync(ticket, fresh)
        return ticket


def ticket_update_attendee(
    *, ticket: Ticket, name: str, email: str | None = None, actor: str = "attendee"
) -> Ticket:
    """Correct the attendee's name, or hand the ticket to someone else (a new e-mail address).

    A swap rotates the ticket's secret, so the previous attendee's QR code and personal link
    stop working; they get a cancellation with a calendar CANCEL, the new attendee the ticket.
    """
    with transaction.atomic():
        event, fresh = _locked_ticket(ticket)
        if fresh.status not in Ticket.HOLDS_PLACE:
            raise RuleViolation(_("This ticket is cancelled."), code="already_cancelled")
        _check_deadline(event, actor)
        errors = _Errors()
        name = _clean_name(name, "name", errors)
        if email is not None:
            email = _clean_email(email, "email", errors)
        errors.raise_if_any()
        old = fresh.person
        if email is None or email.lower() == old.email.lower():
            old.name = name
            old.email = email or old.email
            old.save(update_fields=["name", "email"])
            _sync(ticket, fresh)
            return ticket
        _check_duplicate_emails(event=event, emails=[("email", email)], exclude_ticket_id=fresh.pk)
        new = Person.objects.create(
            name=name,
            email=email,
            organisation=old.organisation,
            preferred_language=old.preferred_language,
        )
        fresh.person = new
        fresh.secret = new_secret()
        fresh.save(update_fields=["person", "secret"])
        if fresh.status == Ticket.Status.VALID:
            # The previous holder is removed from the event: a new SEQUENCE for their CANCEL.
            event_revision_bump(event=event)
            _mail_ticket_cancelled(
                fresh, person=old, event=event, key=f"ticket_cancelled:{fresh.pk}:swap:{old.pk}"
            )
            _mail_ticket_confirmed(fresh, event=event, key=f"ticket_confirmed:{fresh.pk}:{new.pk}")
        _sync(ticket, fresh)
        return ticket


def ticket_add(*, registration: Registration, attendee: AttendeeInput) -> Ticket:
    """Add an attendee to an existing booking (organisation portal)."""
    with transaction.atomic():
        event, reg = _locked_registration(registration)
        if reg.status not in (
            Registration.Status.CONFIRMED,
            Registration.Status.PENDING_APPROVAL,
        ):
            raise RuleViolation(
                _("Attendees can only be added to a confirmed booking."), code="not_allowed"
            )
        _check_registration_window(event)
        errors = _Errors()
        current = reg.tickets.filter(status__in=Ticket.HOLDS_PLACE).count()
        if current + 1 > event.max_tickets_per_booking:
            errors.add(
                "attendees",
                ngettext(
                    "A booking can have at most %(count)d attendee.",
                    "A booking can have at most %(count)d attendees.",
                    event.max_tickets_per_booking,
                )
                % {"count": event.max_tickets_per_booking},
                "too_many_attendees",
            )
        (clean,) = _clean_attendees(event=event, attendees=[attendee], errors=errors)
        errors.raise_if_any()
        if (
            not clean.ticket_type.is_free
            and reg.payment_method != Registration.PaymentMethod.INVOICE
        ):
            # A paid place on an online booking needs a new payment; book it separately.
            raise RuleViolation(
                _("Paid tickets can only be added to bookings paid by invoice."),
                code="not_allowed",
                field="attendees.0.ticket_type",
            )
        key = "attendees.0.email"
        _check_duplicate_emails(event=event, emails=[(key, clean.email)])
        _capacity_check(event=event, wanted=Counter([clean.ticket_type.pk]))
        person = Person.objects.create(
            name=clean.name,
            email=clean.email,
            organisation=reg.organisation,
            preferred_language=clean.language,
        )
        status = (
            Ticket.Status.VALID
            if reg.status == Registration.Status.CONFIRMED
            else Ticket.Status.RESERVED
        )
        new = Ticket.objects.create(
            registration=reg,
            event=event,
            ticket_type=clean.ticket_type,
            person=person,
            status=status,
        )
        Answer.objects.bulk_create(
            [Answer(ticket=new, question_id=q, value=v) for q, v in clean.answers.items()]
        )
        if status == Ticket.Status.VALID:
            _mail_ticket_confirmed(new, event=event)
        return new


# --- waiting list ----------------------------------------------------------------------------


def _offer_free_places(*, event: Event) -> list[WaitingListEntry]:
    """Offer places that are free to the first people waiting, in order of joining.

    Precondition: the caller holds ``lock_event(event.pk)``. An offer holds its place (it counts
    as taken) until it is accepted or expires, so offers never exceed the free places.
    """
    now = timezone.now()
    if event.status != Event.Status.PUBLISHED or now >= event.starts_at:
        # Nothing to offer for a cancelled event or one that has begun.
        return []
    event_left, type_left = _places_left(
        event=event, ticket_types=list(TicketType.objects.filter(event=event))
    )
    if event_left is not None and event_left <= 0:
        return []
    offered = []
    waiting = (
        WaitingListEntry.objects.filter(event=event, status=WaitingListEntry.Status.WAITING)
        .select_related("person", "ticket_type")
        .order_by("created_at", "id")
    )
    for entry in waiting:
        if event_left is not None and event_left <= 0:
            break
        tt = entry.ticket_type
        if not tt.is_active or type_left.get(tt.pk, 1) <= 0:
            continue
        entry.status = WaitingListEntry.Status.OFFERED
        entry.offer_expires_at = now + timedelta(hours=event.waitlist_offer_hours)
        entry.offer_count += 1
        entry.save(update_fields=["status", "offer_expires_at", "offer_count"])
        mail_enqueue(
            key=f"waitlist_offer:{entry.pk}:{entry.offer_count}",
            template="waitlist_offer",
            to_email=entry.person.email,
            to_name=entry.person.name,
            language=entry.person.preferred_language,
            context={"entry_id": entry.pk},
            event_id=event.pk,
        )
        offered.append(entry)
        if event_left is not None:
            event_left -= 1
        if tt.pk in type_left:
            type_left[tt.pk] -= 1
    return offered


def waitlist_offer_free_places(*, event: Event) -> list[WaitingListEntry]:
    """Offer free places to the waiting list now (e.g. after the organiser raised capacity)."""
    with transaction.atomic():
        event = lock_event(event.pk)
        return _offer_free_places(event=event)


def waitlist_join(
    *,
    event: Event,
    ticket_type: TicketType,
    name: str,
    email: str,
    organisation: Organisation | None = None,
    language: str = "nl",
) -> WaitingListEntry:
    with transaction.atomic():
        event = lock_event(event.pk)
        _check_registration_window(event)
        errors = _Errors()
        name = _clean_name(name, "name", errors)
        email = _clean_email(email, "email", errors)
        if ticket_type.event_id != event.pk:
            errors.add("ticket_type", _("Choose a ticket type of this event."))
        elif not ticket_type.is_active:
            errors.add("ticket_type", _("This ticket type is not on sale."))
        errors.raise_if_any()
        if WaitingListEntry.objects.filter(
            event=event,
            person__email__iexact=email,
            status__in=(WaitingListEntry.Status.WAITING, WaitingListEntry.Status.OFFERED),
        ).exists():
            raise RuleViolation(
                _("This e-mail address is already on the waiting list."),
                code="duplicate_email",
                field="email",
            )
        _check_duplicate_emails(event=event, emails=[("email", email)])
        person = Person.objects.create(
            name=name,
            email=email,
            organisation=organisation,
            preferred_language=_clean_language(language),
        )
        entry = WaitingListEntry.objects.create(
            event=event, ticket_type=ticket_type, person=person, organisation=organisation
        )
        mail_enqueue(
            key=f"waitlist_joined:{entry.pk}",
            template="waitlist_joined",
            to_email=person.email,
            to_name=person.name,
            language=person.preferred_language,
            context={"entry_id": entry.pk},
            event_id=event.pk,
        )
        # Places may be free (someone cancelled a moment ago and nobody else waits).
        _offer_free_places(event=event)
        entry.refresh_from_db()
        return entry


def waitlist_accept(*, entry: WaitingListEntry) -> Registration:
    """Take up an offered place: a booking for the person offered, using the held place."""
    with transaction.atomic():
        event = lock_event(entry.event_id)
        fresh = WaitingListEntry.objects.select_related("person", "ticket_type").get(pk=entry.pk)
        if fresh.status == WaitingListEntry.Status.ACCEPTED and fresh.registration_id:
            _sync(entry, fresh)
            return fresh.registration
        if (
            fresh.status != WaitingListEntry.Status.OFFERED
            or fresh.offer_expires_at <= timezone.now()
        ):
            raise RuleViolation(
                _("This offer has expired. The place was offered to the next person waiting."),
                code="offer_expired",
            )
        if event.status == Event.Status.CANCELLED:
            raise RuleViolation(_("This event has been cancelled."), code="registration_closed")
        _check_duplicate_emails(event=event, emails=[("email", fresh.person.email)])
        # Accept first: the offer stops holding its place and the booking takes it over.
        fresh.status = WaitingListEntry.Status.ACCEPTED
        fresh.save(update_fields=["status"])
        person = fresh.person
        reg = _booking_write(
            event=event,
            booker=person,
            attendees=[(person, fresh.ticket_type, {})],
            organisation=fresh.organisation,
            language=person.preferred_language,
            payment_method=Registration.PaymentMethod.ONLINE,
        )
        fresh.registration = reg
        fresh.save(update_fields=["registration"])
        _sync(entry, fresh)
        return reg


def waitlist_expire_offers() -> int:
    """Expire offers whose time ran out and offer those places to the next people (periodic)."""
    now = timezone.now()
    event_ids = set(
        WaitingListEntry.objects.filter(
            status=WaitingListEntry.Status.OFFERED, offer_expires_at__lte=now
        ).values_list("event_id", flat=True)
    )
    expired = 0
    for event_id in sorted(event_ids):
        with transaction.atomic():
            event = lock_event(event_id)
            expired += WaitingListEntry.objects.filter(
                event=event,
                status=WaitingListEntry.Status.OFFERED,
                offer_expires_at__lte=timezone.now(),
            ).update(status=WaitingListEntry.Status.EXPIRED)
            _offer_free_places(event=event)
    return expired


# --- campaign week ---------------------------------------------------------------------------

_ORG_TEXT_FIELDS = ("street", "city", "website", "email", "vat_number")


def _clean_organisation(data: dict, errors: _Errors) -> dict:
    out: dict = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors.add("organisation.name", _("Enter the organisation's name."))
    out["name"] = name
    try:
        out["kvk_number"] = normalise_kvk(data.get("kvk_number") or "")
    except ValidationError as exc:
        errors.add("organisation.kvk_number", exc.messages[0])
    if data.get("postcode"):
        try:
            out["postcode"] = normalise_postcode(data["postcode"])
        except ValidationError as exc:
            errors.add("organisation.postcode", exc.messages[0])
    if data.get("email"):
        out["email"] = _clean_email(data["email"], "organisation.email", errors)
    kind = data.get("kind") or Organisation.Kind.EMPLOYER
    # Schools need a BRIN code and sign up through the school planning, not here.
    if kind == Organisation.Kind.SCHOOL or kind not in Organisation.Kind.values:
        errors.add("organisation.kind", _("Choose one of the options."))
    out["kind"] = kind
    for f in ("sector", "size_band"):
        value = data.get(f) or ""
        choices = Organisation._meta.get_field(f).choices
        if value and value not in {c for c, _label in choices}:
            errors.add(f"organisation.{f}", _("Choose one of the options."))
        elif value:
            out[f] = value
    region = data.get("region")
    if isinstance(region, Region):
        out["region"] = region
    elif region:
        # By code ("01".."35"), the stable identifier forms and the API send.
        found = Region.objects.filter(code=str(region).strip()).first()
        if found is None:
            errors.add("organisation.region", _("Choose one of the options."))
        out["region"] = found
    for f in _ORG_TEXT_FIELDS:
        if f != "email" and data.get(f):
            out[f] = str(data[f]).strip()
    return out


def participation_create(
    *,
    event: Event,
    organisation: dict,
    contact: dict,
    activities: list[str],
    activities_description: str,
    employees_reached: int,
    listed_publicly: bool,
) -> CampaignParticipation:
    """Sign an organisation up for a campaign week, creating or updating it by KvK number."""
    with transaction.atomic():
        # The event lock serialises sign-ups per week, so "one participation per organisation"
        # and "create the organisation by KvK" never race (the constraints back this up).
        event = lock_event(event.pk)
        if event.kind != Event.Kind.CAMPAIGN_WEEK:
            raise RuleViolation(
                _("Organisations can only sign up for a campaign week."), code="not_allowed"
            )
        _check_registration_window(event)
        errors = _Errors()
        org_data = _clean_organisation(organisation or {}, errors)
        contact = contact or {}
        contact_name = _clean_name(contact.get("name", ""), "contact.name", errors)
        contact_email = _clean_email(contact.get("email", ""), "contact.email", errors)
        contact_phone = (contact.get("phone") or "").strip()
        if len(contact_phone) > 30:
            errors.add("contact.phone", _("Use at most 30 characters."))
        valid = set(CampaignParticipation.Activity.values)
        activities = list(dict.fromkeys(activities or []))
        if not activities:
            errors.add("activities", _("Choose at least one activity."))
        elif any(a not in valid for a in activities):
            errors.add("activities", _("Choose activities from the list."))
        try:
            employees_reached = int(employees_reached)
        except (TypeError, ValueError):
            employees_reached = 0
        if employees_reached < 1:
            errors.add("employees_reached", _("Enter a number of 1 or more."))
        errors.raise_if_any()
        org = Organisation.objects.filter(kvk_number=org_data["kvk_number"]).first()
        # The kind only applies to a new organisation: an existing one keeps what it is.
        kind = org_data.pop("kind")
        if org is None:
            org = Organisation(kind=kind)
        elif (
            CampaignParticipation.objects.filter(event=event, organisation=org)
            .exclude(status=CampaignParticipation.Status.CANCELLED)
            .exists()
        ):
            raise RuleViolation(
                _("This organisation is already taking part in this campaign week."),
                code="already_participating",
            )
        for key, value in org_data.items():
            setattr(org, key, value)
        org.listed_publicly = bool(listed_publicly)
        try:
            with transaction.atomic():
                org.save()
        except IntegrityError:
            # The same new organisation signed up for another week (another lock) at this
            # very moment and was created first: update that row instead.
            org = Organisation.objects.get(kvk_number=org_data["kvk_number"])
            for key, value in org_data.items():
                setattr(org, key, value)
            org.listed_publicly = bool(listed_publicly)
            org.save()
        person = Person.objects.create(
            name=contact_name,
            email=contact_email,
            phone=contact_phone,
            organisation=org,
            preferred_language=_clean_language(contact.get("language", "nl")),
        )
        try:
            with transaction.atomic():
                participation = CampaignParticipation.objects.create(
                    event=event,
                    organisation=org,
                    contact=person,
                    activities=activities,
                    activities_description=(activities_description or "").strip(),
                    employees_reached=employees_reached,
                )
        except IntegrityError as exc:
            raise RuleViolation(
                _("This organisation is already taking part in this campaign week."),
                code="already_participating",
            ) from exc
        mail_enqueue(
            key=f"participation_confirmed:{participation.pk}",
            template="participation_confirmed",
            to_email=person.email,
            to_name=person.name,
            language=person.preferred_language,
            context={"participation_id": participation.pk},
            event_id=event.pk,
        )
        return participation
