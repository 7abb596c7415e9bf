"""Adding, swapping and cancelling attendees in the portal, before and after the deadlines."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from communications.models import OutboxMail
from events.models import Question
from participants.models import Ticket
from tests.factories import QuestionFactory

pytestmark = pytest.mark.django_db


def _url(name, world, **kwargs):
    return reverse(
        f"organisations:{name}", kwargs={"organisation_id": world.organisation.pk, **kwargs}
    )


@pytest.fixture
def member_client(client, org_a):
    client.force_login(org_a.member.user)
    return client


def _close_changes(world):
    event = world.registration.event
    event.cancellation_deadline = timezone.now() - timedelta(minutes=1)
    event.registration_closes_at = timezone.now() - timedelta(minutes=1)
    event.save()


def test_add_attendee_before_the_deadline(member_client, org_a):
    question = QuestionFactory(
        event=org_a.registration.event, kind=Question.Kind.YES_NO, required=True, label="Lunch?"
    )
    url = _url("attendee_add", org_a, registration_id=org_a.registration.pk)
    data = {
        "name": "Nieuwe Collega",
        "email": "nieuw@example.nl",
        "ticket_type": org_a.ticket.ticket_type_id,
        f"q_{question.pk}": "yes",
    }
    response = member_client.post(url, data)
    assert response.status_code == 302
    ticket = org_a.registration.tickets.get(person__email="nieuw@example.nl")
    assert ticket.status == Ticket.Status.VALID
    assert ticket.person.organisation == org_a.organisation
    assert ticket.answers.get().value == "yes"
    assert OutboxMail.objects.filter(
        template="ticket_confirmed", to_email="nieuw@example.nl"
    ).exists()
    page = member_client.get(response["Location"]).content.decode()
    assert "Nieuwe Collega is toegevoegd." in page


def test_add_attendee_with_bad_input_shows_field_errors_and_changes_nothing(member_client, org_a):
    question = QuestionFactory(event=org_a.registration.event, required=True, label="Dieet")
    url = _url("attendee_add", org_a, registration_id=org_a.registration.pk)
    response = member_client.post(
        url, {"name": "", "email": "geen-adres", "ticket_type": org_a.ticket.ticket_type_id}
    )
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("name", "email", f"q_{question.pk}"):
        assert f'id="id_{field}_error"' in html
        assert f'aria-describedby="id_{field}_error"' in html
    assert "Verbeter de fouten hieronder." in html
    assert org_a.registration.tickets.count() == 1


def test_add_attendee_twice_with_same_email_is_refused_next_to_the_field(member_client, org_a):
    url = _url("attendee_add", org_a, registration_id=org_a.registration.pk)
    response = member_client.post(
        url,
        {
            "name": "Dubbel",
            "email": org_a.ticket.person.email,
            "ticket_type": org_a.ticket.ticket_type_id,
        },
    )
    assert response.status_code in (400, 409)
    html = response.content.decode()
    assert 'id="id_email_error"' in html
    assert org_a.registration.tickets.count() == 1


def test_add_attendee_refused_after_registration_closed(member_client, org_a):
    _close_changes(org_a)
    url = _url("attendee_add", org_a, registration_id=org_a.registration.pk)
    response = member_client.post(
        url,
        {"name": "Te Laat", "email": "laat@example.nl", "ticket_type": org_a.ticket.ticket_type_id},
    )
    assert response.status_code == 409
    assert "gesloten" in response.content.decode()
    assert org_a.registration.tickets.count() == 1


def test_swap_attendee_before_the_deadline(member_client, org_a):
    url = _url("ticket_change", org_a, ticket_id=org_a.ticket.pk)
    page = member_client.get(url)
    assert page.status_code == 200
    assert 'value="attendee-a@example.nl"' in page.content.decode()
    old_secret = org_a.ticket.secret
    response = member_client.post(url, {"name": "Vervanger", "email": "vervanger@example.nl"})
    assert response.status_code == 302
    ticket = Ticket.objects.select_related("person").get(pk=org_a.ticket.pk)
    assert (ticket.person.name, ticket.person.email) == ("Vervanger", "vervanger@example.nl")
    assert ticket.status == Ticket.Status.VALID
    assert ticket.secret != old_secret
    assert OutboxMail.objects.filter(to_email="vervanger@example.nl").exists()


def test_correct_name_only(member_client, org_a):
    url = _url("ticket_change", org_a, ticket_id=org_a.ticket.pk)
    response = member_client.post(url, {"name": "Juiste Naam", "email": org_a.ticket.person.email})
    assert response.status_code == 302
    org_a.ticket.person.refresh_from_db()
    assert org_a.ticket.person.name == "Juiste Naam"


def test_swap_refused_after_the_deadline(member_client, org_a):
    _close_changes(org_a)
    url = _url("ticket_change", org_a, ticket_id=org_a.ticket.pk)
    response = member_client.post(url, {"name": "Vervanger", "email": "vervanger@example.nl"})
    assert response.status_code == 409
    assert "De termijn voor wijzigen en annuleren is verstreken." in response.content.decode()
    ticket = Ticket.objects.select_related("person").get(pk=org_a.ticket.pk)
    assert ticket.person.email == "attendee-a@example.nl"


def test_cancel_attendee_before_the_deadline(member_client, org_a):
    url = _url("ticket_cancel", org_a, ticket_id=org_a.ticket.pk)
    assert member_client.get(url).status_code == 200
    response = member_client.post(url)
    assert response.status_code == 302
    org_a.ticket.refresh_from_db()
    assert org_a.ticket.status == Ticket.Status.CANCELLED
    assert OutboxMail.objects.filter(template="ticket_cancelled").exists()
    # A second attempt is refused with a message, not an error page.
    again = member_client.post(url)
    assert again.status_code == 409
    assert 'role="alert"' in again.content.decode()


def test_cancel_refused_after_the_deadline(member_client, org_a):
    _close_changes(org_a)
    response = member_client.post(_url("ticket_cancel", org_a, ticket_id=org_a.ticket.pk))
    assert response.status_code == 409
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "De termijn voor wijzigen en annuleren is verstreken." in html
    org_a.ticket.refresh_from_db()
    assert org_a.ticket.status == Ticket.Status.VALID


def test_booking_page_shows_attendees_and_deadline(member_client, org_a):
    html = member_client.get(
        _url("booking", org_a, registration_id=org_a.registration.pk)
    ).content.decode()
    assert org_a.ticket.person.name in html
    assert "Wijzigen mogelijk tot" in html
    assert '<html lang="nl">' in html


def test_dashboard_groups_bookings_per_event_in_english(client, org_a):
    client.force_login(org_a.member.user)
    url = "/en" + _url("dashboard", org_a)[3:]
    html = client.get(url).content.decode()
    assert org_a.registration.event.title in html
    assert "1 attendee" in html
    assert "Campaign weeks" in html


def test_booking_page_says_when_changes_are_closed(member_client, org_a):
    url = _url("booking", org_a, registration_id=org_a.registration.pk)
    assert 'id="add-heading"' in member_client.get(url).content.decode()
    _close_changes(org_a)
    html = member_client.get(url).content.decode()
    assert "kunnen niet meer worden toegevoegd, gewijzigd of geannuleerd" in html
    assert 'id="add-heading"' not in html
    assert _url("ticket_cancel", org_a, ticket_id=org_a.ticket.pk) not in html
