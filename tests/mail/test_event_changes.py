"""Rescheduling and cancelling an event: attendees get an updated or cancelled calendar invite."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.admin.sites import site as admin_site
from django.core import mail as django_mail
from icalendar import Calendar

from common.errors import RuleViolation
from communications.models import OutboxMail
from events.models import Event
from events.services import event_cancel, event_update
from participants.models import Ticket
from tests.factories import EventFactory, RegistrationFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event_with_tickets():
    event = EventFactory(title="Congres Veerkracht", venue_name="Jaarbeurs")
    registration = RegistrationFactory(event=event)
    valid = [TicketFactory(registration=registration) for _ in range(3)]
    TicketFactory(registration=registration, status=Ticket.Status.CANCELLED)
    TicketFactory(registration=registration, status=Ticket.Status.RESERVED)
    return event, valid


def _calendar(message) -> Calendar:
    (ics,) = [content for name, content, mimetype in message.attachments if name.endswith(".ics")]
    return Calendar.from_ical(ics)


def test_reschedule_sends_updated_invites_with_next_sequence(
    event_with_tickets, django_capture_on_commit_callbacks
):
    event, valid = event_with_tickets
    new_start = event.starts_at + timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        event_update(event=event, starts_at=new_start, ends_at=new_start + timedelta(hours=6))
    event.refresh_from_db()
    assert event.revision == 1
    assert event.starts_at == new_start

    assert sorted(m.to[0].split("<")[-1].rstrip(">") for m in django_mail.outbox) == sorted(
        t.person.email for t in valid
    )
    keys = set(OutboxMail.objects.filter(template="event_changed").values_list("key", flat=True))
    assert keys == {f"event_changed:{t.pk}:1" for t in valid}
    uids = set()
    for message in django_mail.outbox:
        calendar = _calendar(message)
        assert str(calendar["METHOD"]) == "REQUEST"
        vevent = calendar.walk("VEVENT")[0]
        assert int(vevent["SEQUENCE"]) == 1
        assert vevent.decoded("DTSTART") == new_start.replace(microsecond=0)
        uids.add(str(vevent["UID"]))
        assert "Congres Veerkracht" in message.subject
    assert len(uids) == 1

    # A second change: SEQUENCE goes up again, same UID, new keys (one more mail each).
    django_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        event_update(event=event, venue_name="Beatrix Theater")
    assert event.revision == 2
    assert len(django_mail.outbox) == 3
    vevent = _calendar(django_mail.outbox[0]).walk("VEVENT")[0]
    assert int(vevent["SEQUENCE"]) == 2
    assert {str(vevent["UID"])} == uids
    assert "Beatrix Theater" in str(vevent["LOCATION"])
    assert "Beatrix Theater" in django_mail.outbox[0].body


def test_unchanged_values_bump_nothing_and_mail_nobody(event_with_tickets):
    event, _valid = event_with_tickets
    event_update(event=event, starts_at=event.starts_at, venue_name=event.venue_name)
    event.refresh_from_db()
    assert event.revision == 0
    assert not OutboxMail.objects.exists()


def test_quiet_change_does_not_mail(event_with_tickets):
    event, _valid = event_with_tickets
    event_update(event=event, title="Congres Veerkracht 2030")
    event.refresh_from_db()
    assert event.title == "Congres Veerkracht 2030"
    assert event.revision == 0
    assert not OutboxMail.objects.exists()


def test_invalid_change_changes_nothing(event_with_tickets):
    event, _valid = event_with_tickets
    before = Event.objects.get(pk=event.pk)
    with pytest.raises(RuleViolation) as exc:
        event_update(event=event, ends_at=event.starts_at - timedelta(hours=1))
    # Dutch is the default language.
    assert exc.value.errors == {"ends_at": ["Het einde moet na het begin liggen."]}
    after = Event.objects.get(pk=event.pk)
    assert (after.ends_at, after.revision) == (before.ends_at, before.revision)
    assert not OutboxMail.objects.exists()


def test_cancel_sends_method_cancel_once(event_with_tickets, django_capture_on_commit_callbacks):
    event, valid = event_with_tickets
    with django_capture_on_commit_callbacks(execute=True):
        event_cancel(event=event)
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert event.revision == 1
    assert len(django_mail.outbox) == len(valid)
    for message in django_mail.outbox:
        calendar = _calendar(message)
        assert str(calendar["METHOD"]) == "CANCEL"
        vevent = calendar.walk("VEVENT")[0]
        assert int(vevent["SEQUENCE"]) == 1
        assert str(vevent["STATUS"]) == "CANCELLED"

    # Idempotent: cancelling again changes and mails nothing.
    with django_capture_on_commit_callbacks(execute=True):
        event_cancel(event=event)
    event.refresh_from_db()
    assert event.revision == 1
    assert len(django_mail.outbox) == len(valid)
    # A cancelled event cannot be moved.
    with pytest.raises(RuleViolation):
        event_update(event=event, venue_name="Elders")


def test_admin_save_routes_time_changes_through_the_service(
    event_with_tickets, rf, organiser, django_capture_on_commit_callbacks
):
    event, valid = event_with_tickets
    model_admin = admin_site._registry[Event]
    request = rf.post("/")
    request.user = organiser
    event.venue_name = "Nieuwe Zaal"
    event.description = "Ook een nieuwe beschrijving"
    form = SimpleNamespace(changed_data=["venue_name", "description"])
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.save_model(request, event, form, change=True)
    stored = Event.objects.get(pk=event.pk)
    assert (stored.venue_name, stored.description, stored.revision) == (
        "Nieuwe Zaal",
        "Ook een nieuwe beschrijving",
        1,
    )
    assert len(django_mail.outbox) == len(valid)

    event.status = Event.Status.CANCELLED
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.save_model(request, event, SimpleNamespace(changed_data=["status"]), True)
    assert Event.objects.get(pk=event.pk).revision == 2
    assert OutboxMail.objects.filter(template="event_cancelled").count() == len(valid)


def test_day_before_reminders_are_queued_once_per_valid_ticket():
    from django.utils import timezone

    from communications.services import event_reminders_queue

    now = timezone.now()
    soon = EventFactory(starts_at=now + timedelta(hours=20))
    later = EventFactory(starts_at=now + timedelta(hours=30))
    booked_early = [TicketFactory(registration=RegistrationFactory(event=soon)) for _ in range(2)]
    TicketFactory(registration=RegistrationFactory(event=soon), status=Ticket.Status.CANCELLED)
    TicketFactory(registration=RegistrationFactory(event=later))
    Ticket.objects.update(created_at=now - timedelta(days=3))
    # Booked an hour ago: the confirmation has just arrived, no reminder on top of it.
    TicketFactory(registration=RegistrationFactory(event=soon))

    assert event_reminders_queue(now=now) == 2
    reminders = OutboxMail.objects.filter(template="event_reminder")
    assert set(reminders.values_list("key", flat=True)) == {
        f"event_reminder:{t.pk}" for t in booked_early
    }
    assert all(m.attachments[0]["method"] == "REQUEST" for m in reminders)
    # Hourly runs never queue a second reminder.
    assert event_reminders_queue(now=now + timedelta(hours=1)) == 0
    assert reminders.count() == 2
