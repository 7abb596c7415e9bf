"""Changes to an event that attendees must hear about: new time or place, cancellation."""

from django.db import transaction
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.services import event_mails_enqueue
from press import hooks as press_hooks

from .locking import lock_event
from .models import Event

# Changing any of these moves the event in people's calendars: bump the revision and mail.
NOTIFY_FIELDS = ("starts_at", "ends_at", "venue_name", "venue_address", "online_url")
# Other fields an organiser may change through this service without telling anyone.
QUIET_FIELDS = (
    "title",
    "description",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "cancellation_deadline",
)


def event_update(*, event: Event, **changes) -> Event:
    """Apply `changes` to the event; if time, place or online link changed, tell every attendee.

    Each notifying change bumps `event.revision` (the iCalendar SEQUENCE) and queues
    `event_changed` with an updated invitation (same UID, METHOD:REQUEST) to every valid ticket,
    keyed `event_changed:{ticket.pk}:{revision}`. Nothing changes and nobody is mailed when the
    new values equal the old ones.
    """
    unknown = sorted(set(changes) - set(NOTIFY_FIELDS) - set(QUIET_FIELDS))
    if unknown:
        raise ValueError(f"event_update cannot change {', '.join(unknown)}")
    with transaction.atomic():
        locked = lock_event(event.pk)
        if locked.status == Event.Status.CANCELLED:
            raise RuleViolation(
                _("This event has been cancelled; it can no longer be changed."),
                code="already_cancelled",
            )
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        if not changed:
            _copy(locked, event)
            return event
        for name in changed:
            setattr(locked, name, changes[name])
        if locked.ends_at <= locked.starts_at:
            raise RuleViolation(
                _("The end must be after the start."),
                code="invalid_dates",
                field="ends_at",
                conflict=False,
            )
        notify = any(name in NOTIFY_FIELDS for name in changed)
        if notify:
            locked.revision += 1
        locked.save()
        if notify and locked.status == Event.Status.PUBLISHED:
            event_mails_enqueue(event=locked, template="event_changed", method="REQUEST")
            press_hooks.on_event_changed(event=locked, method="REQUEST")
    _copy(locked, event)
    return event


def event_cancel(*, event: Event) -> Event:
    """Cancel the event and send every attendee a calendar cancellation (METHOD:CANCEL).

    Idempotent: cancelling a cancelled event changes nothing and mails nobody. Tickets and
    payments are left as they are; refunds are the payments area's decision.
    """
    with transaction.atomic():
        locked = lock_event(event.pk)
        if locked.status == Event.Status.CANCELLED:
            _copy(locked, event)
            return event
        was_published = locked.status == Event.Status.PUBLISHED
        locked.status = Event.Status.CANCELLED
        locked.revision += 1
        locked.save()
        if was_published:
            event_mails_enqueue(event=locked, template="event_cancelled", method="CANCEL")
            press_hooks.on_event_changed(event=locked, method="CANCEL")
    _copy(locked, event)
    return event


def _copy(source: Event, target: Event) -> None:
    # The caller's instance reflects the saved row, as if it had been refreshed.
    if source is not target:
        target.__dict__.update(
            {f.attname: getattr(source, f.attname) for f in Event._meta.concrete_fields}
        )
