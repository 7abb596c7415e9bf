"""Optionally opening a school session to the press: a linked media moment (work visit) to
which local and regional journalists are invited, and which follows the session when it is
moved or cancelled."""

from datetime import date, datetime, time

import pytest
from django.urls import reverse

from common.errors import RuleViolation
from communications.models import OutboxMail
from events.models import Event
from organisations.models import Region
from press import services as press_services
from press.models import Journalist, MediaMoment
from schools import services
from schools.models import AMSTERDAM, SchoolSession
from tests.factories import UserFactory
from tests.press.helpers import journalist

from .conftest import AmbassadorFactory, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    request = make_request()
    return services.school_session_assign(
        request=request,
        ambassador=AmbassadorFactory(person__name="Yara Ambassadeur", user=UserFactory()),
        slot=request.slots.first(),
        user=None,
    )


def test_media_moment_takes_the_sessions_time_and_place_and_is_made_once(session):
    moment = services.school_session_media_moment_create(session=session)
    event = moment.event
    assert (event.kind, moment.sub_kind) == (Event.Kind.MEDIA_MOMENT, "work_visit")
    assert (event.starts_at, event.ends_at) == (session.event.starts_at, session.event.ends_at)
    assert (event.venue_name, event.venue_address) == (
        session.event.venue_name,
        session.event.venue_address,
    )
    assert event.campaign_id == session.event.campaign_id
    assert session.request.school.name in event.title
    # The press hears about the work field and the pupils, not the ambassador's name.
    assert "Yara" not in event.title + event.description
    assert str(session.request.pupils) in event.description
    session.refresh_from_db()
    assert session.media_moment_id == event.pk
    # A second click returns the same moment.
    assert services.school_session_media_moment_create(session=session).pk == moment.pk
    assert MediaMoment.objects.count() == 1


def test_only_a_planned_session_is_opened_to_the_press(session):
    services.school_session_cancel(session=session)
    with pytest.raises(RuleViolation) as info:
        services.school_session_media_moment_create(session=session)
    assert info.value.code == "not_allowed"
    assert not MediaMoment.objects.exists()


def test_organiser_invites_regional_press_from_the_session_page(client, staff_user, session):
    school_region = session.request.school.region
    regional = journalist(region=school_region, media_type=Journalist.MediaType.REGIONAL)
    elsewhere = journalist(region=Region.objects.exclude(pk=school_region.pk).first())
    detail = reverse("schools:session_detail", kwargs={"session_id": session.pk})
    client.force_login(staff_user)
    assert 'name="action" value="media_moment"' in client.get(detail).content.decode()

    response = client.post(detail, {"action": "media_moment"})
    assert response.status_code == 302
    moment = MediaMoment.objects.get()
    invite = reverse("press:staff_invite", kwargs={"pk": moment.pk})
    # Straight to the press list, filtered on the school's region.
    assert response["Location"] == f"{invite}?region={school_region.pk}"
    page = client.get(response["Location"]).content.decode()
    assert regional.person.name in page and elsewhere.person.name not in page

    # The session page now links to the invitations instead of offering a second moment.
    html = client.get(detail).content.decode()
    assert invite in html and 'value="media_moment"' not in html
    client.post(detail, {"action": "media_moment"})
    assert MediaMoment.objects.count() == 1


def test_only_organisers_open_a_session_to_the_press(client, session):
    detail = reverse("schools:session_detail", kwargs={"session_id": session.pk})
    client.force_login(session.ambassador.user)
    assert client.post(detail, {"action": "media_moment"}).status_code == 403
    assert not MediaMoment.objects.exists()


def test_moving_or_cancelling_the_session_moves_or_cancels_the_media_moment(session):
    moment = services.school_session_media_moment_create(session=session)
    reporter = journalist()
    [invitation] = press_services.press_invitations_send(moment=moment, journalists=[reporter])
    press_services.press_invitation_respond(invitation=invitation, accept=True)

    services.school_session_reschedule(
        session=session, on=date(2027, 3, 9), start_time=time(9), end_time=time(10)
    )
    moment.event.refresh_from_db()
    assert moment.event.starts_at == datetime(2027, 3, 9, 9, tzinfo=AMSTERDAM)
    assert moment.event.ends_at == datetime(2027, 3, 9, 10, tzinfo=AMSTERDAM)
    # The journalist who accepted gets the new time (press hooks, keyed by revision).
    changed = OutboxMail.objects.get(key=f"press_moment_changed:{invitation.pk}:1")
    assert changed.to_email == reporter.person.email

    services.school_session_cancel(session=session, reopen=True)
    moment.event.refresh_from_db()
    assert moment.event.status == Event.Status.CANCELLED
    assert OutboxMail.objects.filter(
        template="press_moment_cancelled", to_email=reporter.person.email
    ).exists()

    # The request is back on the board; its next session may get a media moment of its own.
    request = session.request
    request.refresh_from_db()
    again = services.school_session_assign(
        request=request, ambassador=AmbassadorFactory(), slot=request.slots.last(), user=None
    )
    fresh = services.school_session_media_moment_create(session=again)
    assert fresh.pk != moment.pk
    assert SchoolSession.objects.get(pk=again.pk).media_moment_id == fresh.event_id
