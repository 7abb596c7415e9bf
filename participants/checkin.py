"""Checking attendees in at the door.

One service, used by every entry point: the organiser's check-in page (typed or scanned with
the camera), the API and the Django admin's ticket action. The ticket row is locked
(SELECT ... FOR UPDATE) so two scanners reading the same code at the same moment cannot both
admit it: the second waits for the first to commit and then sees the recorded time.

Check-in is only possible inside the event's check-in window (`checkin_window`): a check-in is
the proof of attendance a certificate rests on, so one recorded months before the event (or
after it) must be impossible.
"""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from events.models import Event

from .models import Ticket

logger = logging.getLogger(__name__)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Largest primary key (bigint). URL ids above it are "not found", never a database error.
MAX_ID = 2**63 - 1
# Codes (RuleViolation.code) the page and API show distinctly; see docs/contracts.md.
CHECKIN_CODES = (
    "ticket_code_missing",
    "checkin_not_open",
    "checkin_closed",
    "ticket_unknown",
    "ticket_other_event",
    "ticket_cancelled",
    "ticket_not_valid",
    "already_checked_in",
)


def _local(moment) -> str:
    local = moment.astimezone(AMSTERDAM)
    if local.date() == timezone.now().astimezone(AMSTERDAM).date():
        return formats.time_format(local, "H:i:s")
    return formats.date_format(local, "j F Y H:i:s")


def checkin_window(event: Event) -> tuple[datetime, datetime]:
    """The first and the last moment (both included) at which `event` accepts check-ins:
    CHECKIN_OPENS_BEFORE_START_MINUTES before its start until CHECKIN_CLOSES_AFTER_END_MINUTES
    after its end."""
    before = timedelta(minutes=settings.CHECKIN_OPENS_BEFORE_START_MINUTES)
    after = timedelta(minutes=settings.CHECKIN_CLOSES_AFTER_END_MINUTES)
    return event.starts_at - before, event.ends_at + after


def _window_format(moment: datetime) -> str:
    return formats.date_format(moment.astimezone(AMSTERDAM), "j F Y H:i")


def checkin_window_check(*, event: Event, at: datetime | None = None) -> None:
    """Raise RuleViolation (`checkin_not_open` / `checkin_closed`, naming the Amsterdam time)
    unless `at` (default: now) lies inside the event's check-in window."""
    at = at or timezone.now()
    opens, closes = checkin_window(event)
    if at < opens:
        raise RuleViolation(
            _("Check-in for this event opens at %(time)s.") % {"time": _window_format(opens)},
            code="checkin_not_open",
        )
    if at > closes:
        raise RuleViolation(
            _("Check-in for this event closed at %(time)s.") % {"time": _window_format(closes)},
            code="checkin_closed",
        )


def ticket_check_in(*, secret: str, event: Event, user, request=None) -> Ticket:
    """Record that the holder of `secret` entered `event` now; return the ticket.

    Raises RuleViolation with a distinct code for an empty or unknown code, a moment outside
    the event's check-in window (before it opens, after it closes), a ticket of another event,
    a cancelled ticket, a reserved (unpaid or unapproved) ticket, and a second check-in (whose
    message names the time of the first).
    """
    # Scanners type the code followed by Enter; people copy it with spaces around it.
    secret = (secret or "").strip()
    if not secret:
        raise RuleViolation(
            _("Enter or scan a ticket code."),
            code="ticket_code_missing",
            field="secret",
            conflict=False,
        )
    # The window is the event's, whatever ticket is scanned: outside it nothing is looked up.
    checkin_window_check(event=event)
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("person", "ticket_type", "event")
            .filter(secret=secret)
            .first()
        )
        if ticket is None:
            raise RuleViolation(
                _("Unknown ticket code. Check the code and try again."),
                code="ticket_unknown",
                field="secret",
                conflict=False,
            )
        if ticket.event_id != event.pk:
            raise RuleViolation(
                _("This ticket is for another event: %(event)s (%(date)s).")
                % {
                    "event": ticket.event.title,
                    "date": formats.date_format(ticket.event.starts_at.astimezone(AMSTERDAM)),
                },
                code="ticket_other_event",
            )
        if ticket.status == Ticket.Status.CANCELLED:
            raise RuleViolation(
                _("This ticket has been cancelled and gives no entry."), code="ticket_cancelled"
            )
        if ticket.status != Ticket.Status.VALID:
            raise RuleViolation(
                _(
                    "This ticket is not valid yet: the booking is still awaiting payment "
                    "or approval."
                ),
                code="ticket_not_valid",
            )
        if ticket.checked_in_at is not None:
            raise RuleViolation(
                _("Already checked in at %(time)s.") % {"time": _local(ticket.checked_in_at)},
                code="already_checked_in",
            )
        ticket.checked_in_at = timezone.now()
        ticket.save(update_fields=["checked_in_at"])
        from privacy.services import audit_record

        audit_record(
            actor=user, action="ticket.check_in", obj=ticket, request=request, event_id=event.pk
        )
    logger.info(
        "ticket %s checked in for event %s by user %s",
        ticket.pk,
        event.pk,
        getattr(user, "pk", None),
    )
    return ticket


def checkin_counts(*, event: Event) -> dict:
    valid = Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
    return {"valid": valid.count(), "checked_in": valid.filter(checked_in_at__isnull=False).count()}
