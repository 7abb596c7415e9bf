"""A known data set for the back-office dashboards and exports (own module: factories.py is
shared). Every number the dashboard test asserts is counted by hand from what is built here."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from communications.models import Certificate, OutboxMail
from events.models import Event
from organisations.models import Organisation
from participants.models import CampaignParticipation, Registration, Ticket
from tests.browser.conftest import browser, browser_context, live_url, page  # noqa: F401
from tests.factories import (
    CampaignFactory,
    CampaignParticipationFactory,
    CampaignWeekFactory,
    EventFactory,
    OrganisationFactory,
    PersonFactory,
    RegistrationFactory,
    SchoolFactory,
    TicketFactory,
    TicketTypeFactory,
    UserFactory,
    WaitingListEntryFactory,
)
from tests.mail.conftest import (  # noqa: F401 - the real broker and worker fixtures
    redis_broker,
    smtp_server,
    smtp_settings,
    start_worker,
)

AMS = ZoneInfo("Europe/Amsterdam")
REGIONS = {"01": "Groningen", "12": "Midden-Utrecht"}


def region(code: str):
    """The region from the data migration; recreated when a transactional test flushed it."""
    from organisations.models import Region

    return Region.objects.get_or_create(code=code, defaults={"name": REGIONS[code]})[0]


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, email="staff@example.nl")


def campaign_manager(*campaigns):
    """A staff account limited to the given campaigns (common.permissions roles)."""
    from accounts.models import OrganiserRole

    user = UserFactory(is_staff=True)
    role = OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.CAMPAIGN_MANAGER)
    role.campaigns.add(*campaigns)
    return user


def checkin_staff(*events):
    from accounts.models import OrganiserRole

    user = UserFactory(is_staff=True)
    role = OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.CHECKIN_STAFF)
    role.events.add(*events)
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@dataclass
class DataSet:
    campaign: object
    other_campaign: object
    congress: Event
    week: Event
    other_event: Event
    ticket_a: object
    ticket_b: object
    orgs: dict


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=AMS)


def _mails(event, status, n, prefix):
    for i in range(n):
        OutboxMail.objects.create(
            key=f"{prefix}:{event.pk}:{status}:{i}",
            template="ticket_confirmed",
            to_email=f"{prefix}{i}@example.nl",
            event=event,
            status=status,
        )


@pytest.fixture
def dataset(db) -> DataSet:
    campaign = CampaignFactory(name="Week van de Werkstress 2030", slug="wvdw-2030")
    other = CampaignFactory(name="Andere campagne", slug="andere")
    congress = EventFactory(campaign=campaign, title="Congres Werkdruk", capacity=10)
    week = CampaignWeekFactory(campaign=campaign, title="Campagneweek 2030")
    other_event = EventFactory(campaign=other, title="Ander congres", capacity=5)
    type_a = TicketTypeFactory(event=congress, name="Dagkaart", capacity=4)
    type_b = TicketTypeFactory(event=congress, name="Middag", capacity=None)

    utrecht, groningen = region("12"), region("01")
    org1 = OrganisationFactory(
        name="Zorggroep Utrecht", region=utrecht, sector=Organisation.Sector.CARE
    )
    org2 = OrganisationFactory(
        name="=HYPERLINK(evil)", region=groningen, sector=Organisation.Sector.ICT
    )
    org3 = OrganisationFactory(name="Afgemeld BV", region=groningen)
    org4 = OrganisationFactory(name="ICT Utrecht", region=utrecht, sector=Organisation.Sector.ICT)
    org_other = OrganisationFactory(name="Ander bedrijf", region=utrecht)

    # Bookings on the congress: 3 count (r1, r2, r3); the expired one does not.
    day1, day2 = date(2030, 3, 2), date(2030, 3, 4)
    r1 = RegistrationFactory(event=congress, organisation=org1)
    t1 = TicketFactory(
        registration=r1,
        ticket_type=type_a,
        person=PersonFactory(name="Anna de Vries", email="anna@example.nl"),
        checked_in_at=timezone.now(),
    )
    TicketFactory(registration=r1, ticket_type=type_a, person__name="-Bert")
    r2 = RegistrationFactory(event=congress, organisation=org4)
    t3 = TicketFactory(registration=r2, ticket_type=type_b, checked_in_at=timezone.now())
    r3 = RegistrationFactory(event=congress, status=Registration.Status.AWAITING_PAYMENT)
    TicketFactory(registration=r3, ticket_type=type_a, status=Ticket.Status.RESERVED)
    r4 = RegistrationFactory(event=congress, status=Registration.Status.EXPIRED)
    TicketFactory(registration=r4, ticket_type=type_a, status=Ticket.Status.CANCELLED)
    Registration.objects.filter(pk=r1.pk).update(created_at=_at(day1, 9))
    Registration.objects.filter(pk__in=[r2.pk, r3.pk]).update(created_at=_at(day2, 23))
    Registration.objects.filter(pk=r4.pk).update(created_at=_at(day2, 10))
    # 23:30 UTC on day 1 is already day 2 in Amsterdam: the day is counted in local time.
    Registration.objects.filter(pk=r2.pk).update(
        created_at=datetime.combine(day1, time(23, 30), tzinfo=ZoneInfo("UTC"))
    )

    # Another campaign's numbers must never leak in.
    ro = RegistrationFactory(event=other_event, organisation=org_other)
    TicketFactory(registration=ro, checked_in_at=timezone.now())
    _mails(other_event, OutboxMail.Status.SENT, 5, "other")

    # Waiting list on the congress: 2 waiting, 1 offered, 1 cancelled.
    for status in ("waiting", "waiting", "offered", "cancelled"):
        WaitingListEntryFactory(
            event=congress,
            ticket_type=type_a,
            status=status,
            offer_expires_at=timezone.now() + timedelta(hours=1) if status == "offered" else None,
        )

    # Certificates: 2 attendee (one revoked) on the congress.
    Certificate.objects.create(kind="attendee", event=congress, ticket=t1, name="Anna")
    Certificate.objects.create(
        kind="attendee", event=congress, ticket=t3, name="X", revoked_at=timezone.now()
    )

    # Mail: 3 sent, 1 retrying, 2 failed, 1 queued + 1 sending (pending 2).
    _mails(congress, OutboxMail.Status.SENT, 3, "m")
    _mails(congress, OutboxMail.Status.RETRYING, 1, "m")
    _mails(congress, OutboxMail.Status.FAILED, 2, "m")
    _mails(congress, OutboxMail.Status.QUEUED, 1, "m")
    _mails(congress, OutboxMail.Status.SENDING, 1, "m")

    # Campaign week: org1 (also booked: counted once), org2; org3 cancelled.
    p1 = CampaignParticipationFactory(event=week, organisation=org1, employees_reached=120)
    CampaignParticipationFactory(
        event=week,
        organisation=org2,
        activities=["workshop", "walk"],
        status=CampaignParticipation.Status.CONFIRMED,
    )
    CampaignParticipationFactory(
        event=week, organisation=org3, status=CampaignParticipation.Status.CANCELLED
    )
    Certificate.objects.create(kind="organisation", event=week, participation=p1, name="Zorg")

    return DataSet(
        campaign=campaign,
        other_campaign=other,
        congress=congress,
        week=week,
        other_event=other_event,
        ticket_a=type_a,
        ticket_b=type_b,
        orgs={"org1": org1, "org2": org2, "org3": org3, "org4": org4},
    )


def add_school_sessions(ds: DataSet):
    """Two held sessions (feedback 50 from the school; none -> 60 requested), one planned."""
    from schools.models import SchoolSession, SchoolSessionRequest, SessionFeedback, WorkField
    from tests.schools.conftest import AmbassadorFactory

    field, _ = WorkField.objects.get_or_create(
        slug="ziekenhuizen", defaults={"name": "Ziekenhuizen"}
    )
    ambassador = AmbassadorFactory(person__name="Ambassadeur Anne", work_field=field, regions=[])
    school = SchoolFactory(name="Het Lyceum", region=region("12"))
    sessions = []
    for i, (status, pupils) in enumerate((("done", 80), ("done", 60), ("planned", 40))):
        request = SchoolSessionRequest.objects.create(
            school=school,
            campaign=ds.campaign,
            contact=PersonFactory(organisation=school),
            education_level="havo",
            pupils=pupils,
            classes=2,
            status="planned",
        )
        event = EventFactory(
            campaign=ds.campaign,
            kind=Event.Kind.SCHOOL_SESSION,
            title=f"Voorlichting {i}",
            capacity=None,
        )
        sessions.append(
            SchoolSession.objects.create(
                request=request, event=event, ambassador=ambassador, status=status
            )
        )
    SessionFeedback.objects.create(
        session=sessions[0], role="ambassador", rating=4, pupils_reached=70
    )
    SessionFeedback.objects.create(session=sessions[0], role="school", rating=5, pupils_reached=50)
    return sessions


def add_press(ds: DataSet):
    """3 invitations (1 accepted with accreditation, 1 declined, 1 open), coverage 2 x reach."""
    from press.models import Coverage, Journalist, MediaMoment, PressInvitation

    event = EventFactory(
        campaign=ds.campaign, kind=Event.Kind.MEDIA_MOMENT, title="Persconferentie", capacity=None
    )
    moment = MediaMoment.objects.create(event=event, sub_kind="press_conference")
    outlet = Organisation.objects.create(kind=Organisation.Kind.MEDIA_OUTLET, name="Dagblad Oost")
    invitations = []
    for i, status in enumerate(("accepted", "declined", "invited")):
        journalist = Journalist.objects.create(
            person=PersonFactory(name=f"Journalist {i}", email=f"j{i}@krant.example.nl"),
            outlet=outlet,
            media_type="national",
            legal_basis="consent",
            agreed_on=date(2026, 1, 15),
        )
        invitations.append(
            PressInvitation.objects.create(
                moment=moment,
                journalist=journalist,
                status=status,
                accreditation_requested_at=timezone.now() if status == "accepted" else None,
                crew_size=2 if status == "accepted" else 0,
                camera=status == "accepted",
            )
        )
    Coverage.objects.create(
        moment=moment,
        outlet_name="Dagblad Oost",
        published_on=date(2030, 3, 5),
        estimated_reach=1500,
    )
    Coverage.objects.create(
        moment=moment, outlet_name="Radio 1", published_on=date(2030, 3, 6), estimated_reach=250
    )
    return invitations
