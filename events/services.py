"""Changes to an event that attendees must hear about: new time or place, cancellation.

Also the organiser's plain saves of events and ticket types (`event_save`, `ticket_type_save`,
`ticket_type_delete`, for the Django admin), so every organiser change is in the audit log.

Audit rule: a service here writes an audit entry when it is given the organiser (`actor`), in
the same transaction as the change. Services of other apps that change an event as part of
their own action (school planning, media moments) call without `actor` and record their own,
more specific entry, so one organiser action is one entry.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.services import event_mails_enqueue
from press import hooks as press_hooks
from privacy.audit import audit_record

from .locking import lock_event
from .models import Event, TicketType

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


def event_update(*, event: Event, actor=None, request=None, **changes) -> Event:
    """Apply `changes` to the event; if time, place or online link changed, tell every attendee.

    Each notifying change bumps `event.revision` (the iCalendar SEQUENCE) and queues
    `event_changed` with an updated invitation (same UID, METHOD:REQUEST) to every valid ticket,
    keyed `event_changed:{ticket.pk}:{revision}`. Nothing changes and nobody is mailed when the
    new values equal the old ones. With `actor`, a real change is audited as `event.update`
    (field names only: titles and descriptions are free text).
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
        notified = notify and locked.status == Event.Status.PUBLISHED
        if notified:
            event_mails_enqueue(event=locked, template="event_changed", method="REQUEST")
            press_hooks.on_event_changed(event=locked, method="REQUEST")
        if actor is not None:
            audit_record(
                actor=actor,
                action="event.update",
                obj=locked,
                request=request,
                fields=sorted(changed),
                revision=locked.revision,
                notified=notified,
            )
    _copy(locked, event)
    return event


def event_cancel(*, event: Event, actor=None, request=None) -> Event:
    """Cancel the event and send every attendee a calendar cancellation (METHOD:CANCEL).

    Idempotent: cancelling a cancelled event changes nothing and mails nobody (and, with
    `actor`, writes no second `event.cancel` entry). Tickets and payments are left as they
    are; refunds are the payments area's decision.
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
        if actor is not None:
            audit_record(
                actor=actor,
                action="event.cancel",
                obj=locked,
                request=request,
                was_published=was_published,
            )
    _copy(locked, event)
    return event


def event_revision_bump(*, event: Event) -> int:
    """Count a change of who is invited as a new calendar revision; returns the new revision.

    RFC 5546 3.2.5: a CANCEL increments SEQUENCE, also the CANCEL that removes one attendee
    (a cancelled ticket, a journalist who declines) while the event goes on. The revision is
    the event's SEQUENCE, so it is bumped here and the removed attendee's CANCEL carries it; a
    later invite to the same address (booking again) then is not older than that CANCEL.
    Nobody else is mailed: their copy only lacks a name in the attendee list.

    Precondition: the caller holds ``lock_event(event.pk)`` (revisions of one event are
    written in order) and passes the locked instance, which is updated in place.
    """
    Event.objects.filter(pk=event.pk).update(revision=F("revision") + 1)
    event.revision = Event.objects.filter(pk=event.pk).values_list("revision", flat=True).get()
    return event.revision


def event_save(
    *,
    event: Event,
    changed_fields: Iterable[str] = (),
    created: bool = False,
    actor=None,
    request=None,
) -> Event:
    """Save an event edited as a whole (the Django admin's event form) and audit it.

    `event` carries the new values; `changed_fields` names the fields the organiser changed
    (`form.changed_data`). A new event is saved as it is (`event.create`). For an existing one,
    time, place and online link go through `event_update` and a cancellation through
    `event_cancel`, so attendees get an updated or cancelled invitation; the other changed
    fields are saved first, as they are (`event.update`, or `event.publish` when the status
    became published). A RuleViolation from `event_update` is raised after that first save,
    as the admin always did: the plain fields stay saved. Each write is one audit entry.
    """
    changed = list(dict.fromkeys(changed_fields))
    if created or event.pk is None:
        with transaction.atomic():
            event.save()
            if actor is not None:
                audit_record(
                    actor=actor,
                    action="event.create",
                    obj=event,
                    request=request,
                    status=event.status,
                    kind=event.kind,
                    campaign_id=event.campaign_id,
                )
        return event
    moved = [name for name in changed if name in NOTIFY_FIELDS]
    cancel = "status" in changed and event.status == Event.Status.CANCELLED
    plain = [name for name in changed if name not in moved and not (cancel and name == "status")]
    new_values = {name: getattr(event, name) for name in moved}
    with transaction.atomic():
        # The booking lock (FOR NO KEY UPDATE: bookings may still insert their rows) keeps
        # `old` true until the save below.
        old = lock_event(event.pk)
        # The notifying fields and the cancellation are written by the services below, which
        # compare with the saved row; the plain save must not write them first.
        for name in moved:
            setattr(event, name, getattr(old, name))
        if cancel:
            event.status = old.status
        event.save()
        if plain and actor is not None:
            published = (
                "status" in plain
                and event.status == Event.Status.PUBLISHED
                and old.status != Event.Status.PUBLISHED
            )
            audit_record(
                actor=actor,
                action="event.publish" if published else "event.update",
                obj=event,
                request=request,
                fields=sorted(plain),
                status=event.status,
            )
    if moved:
        event_update(event=event, actor=actor, request=request, **new_values)
    if cancel:
        event_cancel(event=event, actor=actor, request=request)
    return event


def ticket_type_save(
    *,
    ticket_type: TicketType,
    changed_fields: Iterable[str] = (),
    created: bool = False,
    actor=None,
    request=None,
) -> TicketType:
    """Save a ticket type as edited (admin inline or form); audited as ticket_type.create or
    ticket_type.update with the changed field names. An unchanged form writes no entry."""
    changed = sorted(set(changed_fields))
    created = created or ticket_type.pk is None
    with transaction.atomic():
        ticket_type.save()
        if actor is not None and (created or changed):
            audit_record(
                actor=actor,
                action="ticket_type.create" if created else "ticket_type.update",
                obj=ticket_type,
                request=request,
                event_id=ticket_type.event_id,
                fields=changed,
            )
    return ticket_type


def ticket_type_delete(*, ticket_type: TicketType, actor=None, request=None) -> None:
    """Delete a ticket type (the database refuses while tickets refer to it); audited with the
    id it had, since the row is gone afterwards."""
    with transaction.atomic():
        pk, event_id = ticket_type.pk, ticket_type.event_id
        ticket_type.delete()
        if actor is not None:
            audit_record(
                actor=actor,
                action="ticket_type.delete",
                obj=(TicketType._meta.label_lower, pk),
                request=request,
                event_id=event_id,
            )


def _copy(source: Event, target: Event) -> None:
    # The caller's instance reflects the saved row, as if it had been refreshed.
    if source is not target:
        target.__dict__.update(
            {f.attname: getattr(source, f.attname) for f in Event._meta.concrete_fields}
        )
