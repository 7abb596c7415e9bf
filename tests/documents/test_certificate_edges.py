"""Certificates only for events that have ended (the end strictly before now), on every issue
path, and the verification page's verdict on certificates issued before that.

Issue paths: one ticket (certificate_issue), a bulk run for attendees started by the service or
on the organiser's page, a campaign week's organisation run, and a run whose event was moved to
a later date after it started. Each is tried a microsecond before the end and at the end itself
(refused, nothing written: no certificate, no run, no mail) and a microsecond after (issued),
for a corpus of events. Nothing issues certificates automatically (no beat task, no hook).
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from freezegun import freeze_time

from common.errors import RuleViolation
from communications.documents import (
    certificate_issue,
    certificate_run_execute,
    certificate_run_start,
)
from communications.models import Certificate, CertificateRun, OutboxMail
from events.models import Event
from events.services import event_update
from participants.models import CampaignParticipation
from tests.factories import (
    CampaignParticipationFactory,
    CampaignWeekFactory,
    EventFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")
TICK = timedelta(microseconds=1)

EVENTS = [
    pytest.param(
        datetime(2031, 3, 12, 10, 0, tzinfo=AMS), datetime(2031, 3, 12, 17, 0, tzinfo=AMS), id="day"
    ),
    pytest.param(
        datetime(2031, 6, 20, 19, 30, tzinfo=AMS),
        datetime(2031, 6, 21, 0, 0, tzinfo=AMS),
        id="ends-at-midnight",
    ),
    pytest.param(
        datetime(2031, 10, 25, 22, 0, tzinfo=AMS),
        # Winter time returns at 03:00 on 26 October 2031.
        datetime(2031, 10, 26, 2, 30, tzinfo=AMS),
        id="across-winter-time",
    ),
]
# A microsecond before the end and the end itself: not ended. A microsecond after: ended.
REFUSED_AT = [-TICK, timedelta(0)]
ISSUED_AT = TICK


def _attended(event: Event, n: int = 2) -> list:
    registration = RegistrationFactory(event=event)
    return [
        TicketFactory(
            registration=registration,
            person=PersonFactory(name=f"Aanwezige {event.pk}-{i}"),
            checked_in_at=event.starts_at,  # at the door, inside the check-in window
        )
        for i in range(n)
    ]


def _nothing_issued(event: Event) -> None:
    assert not Certificate.objects.filter(event=event).exists()
    assert not OutboxMail.objects.filter(key__startswith="certificate:").exists()


def _single(event, client, capture):
    tickets = _attended(event)

    def attempt():
        for ticket in tickets:
            certificate_issue(ticket=ticket)

    return attempt, len(tickets)


def _run_service(event, client, capture):
    tickets = _attended(event)

    def attempt():
        with capture(execute=True):
            certificate_run_start(event=event, kind=Certificate.Kind.ATTENDEE)

    return attempt, len(tickets)


def _run_page(event, client, capture):
    tickets = _attended(event)
    url = reverse("communications:certificate_runs", kwargs={"event_id": event.pk})

    def attempt():
        with capture(execute=True):
            response = client.post(url, {"kind": "attendee"})
        if response.status_code == 400:
            text = response.content.decode()
            assert "Certificaten worden pas uitgegeven als het evenement voorbij is" in text
            raise RuleViolation(text, code="event_not_ended")
        assert response.status_code == 302
        assert "/certificate-runs/" in response["Location"]

    return attempt, len(tickets)


def _organisation_run(event, client, capture):
    week = CampaignWeekFactory(starts_at=event.starts_at, ends_at=event.ends_at)
    for _ in range(2):
        CampaignParticipationFactory(event=week, status=CampaignParticipation.Status.CONFIRMED)

    def attempt():
        with capture(execute=True):
            certificate_run_start(event=week, kind=Certificate.Kind.ORGANISATION)

    return attempt, 2


PATHS = {
    "single": _single,
    "run": _run_service,
    "run-page": _run_page,
    "organisation-run": _organisation_run,
}


@pytest.mark.parametrize(("starts", "ends"), EVENTS)
@pytest.mark.parametrize("path", PATHS)
def test_every_issue_path_waits_for_the_end(
    client, organiser, django_capture_on_commit_callbacks, starts, ends, path
):
    for offset in [*REFUSED_AT, ISSUED_AT]:
        Certificate.objects.all().delete()
        CertificateRun.objects.all().delete()
        OutboxMail.objects.all().delete()
        event = EventFactory(starts_at=starts, ends_at=ends)
        attempt, expected = PATHS[path](event, client, django_capture_on_commit_callbacks)
        moment = ends.astimezone(UTC) + offset
        with freeze_time(moment):
            client.force_login(organiser)  # a session of that moment
            if offset == ISSUED_AT:
                attempt()
            else:
                with pytest.raises(RuleViolation) as info:
                    attempt()
                assert info.value.code == "event_not_ended", (path, offset)
        label = (path, moment.isoformat())
        if offset == ISSUED_AT:
            issued = Certificate.objects.all()
            assert issued.count() == expected, label
            assert all(c.issued_at == moment for c in issued), label
            assert OutboxMail.objects.filter(key__startswith="certificate:").count() == expected
        else:
            assert not Certificate.objects.exists(), label
            assert not CertificateRun.objects.exists(), label
            assert not OutboxMail.objects.filter(key__startswith="certificate:").exists(), label


def test_a_run_whose_event_moves_later_issues_nothing(django_capture_on_commit_callbacks):
    starts = datetime(2031, 3, 12, 10, 0, tzinfo=AMS)
    event = EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=7))
    _attended(event, 3)
    run = CertificateRun.objects.create(event=event, kind=Certificate.Kind.ATTENDEE, total=3)
    with freeze_time(event.ends_at + timedelta(days=1)):
        # Started after the end, then the organiser moves the event to next year (a date
        # typed wrongly, or a postponement) before the run's task gets to it.
        event_update(
            event=event,
            starts_at=starts.replace(year=2032),
            ends_at=starts.replace(year=2032) + timedelta(hours=7),
        )
        run = certificate_run_execute(run_id=run.pk)
    assert run.status == CertificateRun.Status.FAILED and run.done == 0
    _nothing_issued(event)


def test_the_reported_case_march_event_december_check_in(organiser):
    """A check-in recorded in December for a March event (before the window existed) proves
    nothing: no certificate for it, by hand or in a run, even after the event has ended."""
    starts = datetime(2031, 3, 12, 10, 0, tzinfo=AMS)
    event = EventFactory(starts_at=starts, ends_at=starts + timedelta(hours=7))
    early = TicketFactory(
        registration__event=event, checked_in_at=datetime(2030, 12, 15, 14, 0, tzinfo=AMS)
    )
    (present,) = _attended(event, 1)
    with (
        freeze_time(datetime(2030, 12, 15, 14, 5, tzinfo=AMS)),
        pytest.raises(RuleViolation) as info,
    ):
        certificate_issue(ticket=present)
    assert info.value.code == "event_not_ended"
    with freeze_time(event.ends_at + timedelta(hours=1)):
        with pytest.raises(RuleViolation) as info:
            certificate_issue(ticket=early)
        assert info.value.code == "not_checked_in"
        run = certificate_run_start(event=event, kind=Certificate.Kind.ATTENDEE)
        certificate_run_execute(run_id=run.pk)
    assert list(Certificate.objects.values_list("ticket", flat=True)) == [present.pk]


@pytest.mark.parametrize(("starts", "ends"), EVENTS)
def test_verification_says_not_valid_for_certificates_issued_before_the_end(client, starts, ends):
    """Rows issued before their event ended (written by the code before this rule) are shown
    as not valid, without the holder's name; from just after the end they are valid."""
    event = EventFactory(starts_at=starts, ends_at=ends, title="Congres Tijdstip")
    week = CampaignWeekFactory(starts_at=starts, ends_at=ends)
    end = ends.astimezone(UTC)
    corpus = [
        (end - timedelta(days=90), False),
        (end - TICK, False),
        (end, False),
        (end + TICK, True),
        (end + timedelta(days=30), True),
    ]
    for n, (issued_at, valid) in enumerate(corpus):
        ticket = TicketFactory(registration__event=event, checked_in_at=event.starts_at)
        participation = CampaignParticipationFactory(event=week)
        with freeze_time(issued_at):
            attendee = Certificate.objects.create(
                kind=Certificate.Kind.ATTENDEE, event=event, ticket=ticket, name=f"Houder A{n}"
            )
            organisation = Certificate.objects.create(
                kind=Certificate.Kind.ORGANISATION,
                event=week,
                participation=participation,
                name=f"Organisatie O{n}",
            )
        for certificate in (attendee, organisation):
            assert certificate.issued_at == issued_at
            response = client.get(f"/nl/certificates/verify/{certificate.code}/")
            body = response.content.decode()
            label = (certificate.kind, issued_at.isoformat())
            if valid:
                assert response.status_code == 200, label
                assert certificate.name in body and "Dit certificaat is geldig." in body, label
            else:
                assert response.status_code == 410, label
                assert "Dit certificaat is niet geldig" in body, label
                assert certificate.name not in body, label
