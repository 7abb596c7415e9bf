"""Retention: anonymise attendees of events whose retention period has passed, keep counts."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from communications.models import Certificate, OutboxMail
from participants.models import Answer, Person, Ticket, WaitingListEntry
from privacy.models import AuditEntry, RetentionPolicy
from privacy.services import ANONYMISED_NAME, retention_run
from tests.factories import (
    EventFactory,
    PersonFactory,
    QuestionFactory,
    TicketFactory,
    WaitingListEntryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_event(settings):
    settings.PRIVACY_DEFAULT_RETENTION_DAYS = 365
    start = timezone.now() - timedelta(days=100)
    event = EventFactory(starts_at=start, ends_at=start + timedelta(hours=8))
    RetentionPolicy.objects.create(event=event, retention_days=30)
    person = PersonFactory(name="Oude Deelnemer", email="oud@example.nl", phone="0612345678")
    ticket = TicketFactory(registration__event=event, registration__booker=person, person=person)
    Answer.objects.create(ticket=ticket, question=QuestionFactory(event=event), value="Vegan")
    WaitingListEntryFactory(
        event=event, person=PersonFactory(name="Wachtende", email="w@example.nl")
    )
    Certificate.objects.create(kind="attendee", event=event, ticket=ticket, name=person.name)
    OutboxMail.objects.create(
        key=f"ticket_confirmed:{ticket.pk}",
        template="ticket_confirmed",
        to_email=person.email,
        to_name=person.name,
        context={"ticket_id": ticket.pk},
        event=event,
        status=OutboxMail.Status.SENT,
    )
    return event


def snapshot():
    return (
        list(Person.objects.order_by("pk").values_list("name", "email", "phone", "anonymised_at")),
        list(Answer.objects.values_list("value", flat=True)),
        list(Certificate.objects.values_list("name", flat=True)),
        list(OutboxMail.objects.values_list("to_email", "to_name")),
    )


def test_before_its_date_nothing_is_due(old_event):
    # 100 days after the event, a 120-day period has not passed yet.
    RetentionPolicy.objects.filter(event=old_event).update(retention_days=120)
    before = snapshot()
    assert retention_run(dry_run=True) == []
    assert retention_run() == []
    assert snapshot() == before


def test_dry_run_reports_counts_per_event_and_changes_nothing(old_event):
    before = snapshot()
    (report,) = retention_run(dry_run=True)
    assert (report.event_id, report.retention_days) == (old_event.pk, 30)
    assert (report.persons, report.answers, report.waitlist_entries) == (2, 1, 1)
    assert (report.certificates, report.mails) == (1, 1)
    assert snapshot() == before
    assert not AuditEntry.objects.exists()


def test_after_its_date_personal_data_goes_and_counts_stay(old_event):
    tickets_before = Ticket.objects.filter(event=old_event).count()
    (report,) = retention_run()
    assert report.persons == 2
    for person in Person.objects.all():
        assert person.name == ANONYMISED_NAME
        assert person.email.endswith("@anonymised.invalid")
        assert person.phone == "" and person.anonymised_at is not None
    assert list(Answer.objects.values_list("value", flat=True)) == [""]
    assert list(Certificate.objects.values_list("name", flat=True)) == [ANONYMISED_NAME]
    mail = OutboxMail.objects.get()
    assert (mail.to_name, mail.status) == ("", "sent") and "oud@" not in mail.to_email
    # Statistics: rows and counts stay.
    assert Ticket.objects.filter(event=old_event).count() == tickets_before
    assert WaitingListEntry.objects.filter(event=old_event).count() == 1
    entry = AuditEntry.objects.get(action="retention.anonymise")
    assert entry.actor_id is None and entry.details["persons"] == 2
    # Idempotent: nothing left for a second run.
    assert retention_run() == []


def test_someone_booked_on_a_later_event_is_kept(old_event):
    person = Person.objects.get(email="oud@example.nl")
    TicketFactory(registration__event=EventFactory(), person=person)
    retention_run()
    person.refresh_from_db()
    assert person.name == "Oude Deelnemer" and person.anonymised_at is None
    # The old event's answers are event data and still go.
    assert list(Answer.objects.values_list("value", flat=True)) == [""]


def test_default_period_applies_without_a_policy(old_event, settings):
    RetentionPolicy.objects.all().delete()
    settings.PRIVACY_DEFAULT_RETENTION_DAYS = 365
    assert retention_run(dry_run=True) == []
    settings.PRIVACY_DEFAULT_RETENTION_DAYS = 90
    assert [r.event_id for r in retention_run(dry_run=True)] == [old_event.pk]


def test_management_command_dry_run_and_real_run(old_event, capsys):
    call_command("privacy_retention", "--dry-run")
    out = capsys.readouterr().out
    assert f"Would anonymise: event {old_event.pk}" in out and "persons=2" in out
    assert Person.objects.filter(anonymised_at__isnull=True).count() == 2
    call_command("privacy_retention")
    assert "Anonymised: event" in capsys.readouterr().out
    assert not Person.objects.filter(anonymised_at__isnull=True).exists()


def test_retention_page_shows_dry_run_and_sets_a_period(old_event, organiser_client):
    url = reverse("privacy:retention")
    page = organiser_client.get(url)
    assert page.status_code == 200 and old_event.title in page.content.decode()
    assert Person.objects.filter(anonymised_at__isnull=True).count() == 2
    bad = organiser_client.post(url, {"event": old_event.pk, "retention_days": "-1"})
    assert bad.status_code == 400 and 'id="id_retention_days_error"' in bad.content.decode()
    ok = organiser_client.post(url, {"event": old_event.pk, "retention_days": "400"})
    assert ok.status_code == 302
    assert RetentionPolicy.objects.get(event=old_event).retention_days == 400
    assert AuditEntry.objects.filter(action="retention.policy_set").count() == 1
    # 400 days have not passed: the dry-run table is gone.
    assert "<table" not in organiser_client.get(url).content.decode()


@pytest.mark.skipif(not apps.is_installed("press"), reason="press app not installed")
def test_press_responses_of_an_old_media_moment_are_blanked_journalist_stays(settings):
    from events.models import Event
    from press.models import PressInvitation
    from tests.press.helpers import invite, journalist, moment

    settings.PRIVACY_DEFAULT_RETENTION_DAYS = 30
    m = moment()
    j = journalist(name="Pers Persoon", email="pers@krant.example.nl")
    inv = invite(m, j)
    PressInvitation.objects.filter(pk=inv.pk).update(
        accreditation_name="Pers Persoon", accreditation_outlet="Dagblad"
    )
    past = timezone.now() - timedelta(days=60)
    Event.objects.filter(pk=m.event_id).update(starts_at=past, ends_at=past + timedelta(hours=2))
    (report,) = retention_run(dry_run=True)
    assert report.press_responses == 1
    retention_run()
    inv.refresh_from_db()
    assert (inv.accreditation_name, inv.accreditation_outlet) == ("", "")
    j.person.refresh_from_db()
    # The journalist is on the press list, not an event attendee: their profile stays.
    assert j.person.name == "Pers Persoon"


def test_the_periodic_job_is_scheduled_and_anonymises(old_event, settings):
    """The retention run is a periodic job: celery beat has it, and the task does the run."""
    from config.celery import app
    from privacy.tasks import anonymise_expired_task

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "privacy.tasks.anonymise_expired_task" in scheduled
    assert "privacy.tasks.anonymise_expired_task" in app.tasks
    assert anonymise_expired_task() == 1
    assert not Person.objects.filter(anonymised_at__isnull=True).exists()
