"""Bad input: field-by-field JSON errors in Dutch (default) or English, nothing written."""

import pytest

from communications.models import OutboxMail
from events.models import Question
from organisations.models import Organisation
from participants.models import CampaignParticipation, Person, Registration, Ticket
from tests.factories import (
    CampaignWeekFactory,
    EventFactory,
    OrganisationFactory,
    QuestionFactory,
    TicketTypeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    event = EventFactory(max_tickets_per_booking=2)
    event.tt = TicketTypeFactory(event=event, name="Standaard")
    event.q_text = QuestionFactory(event=event, label="Dieet", required=True, position=0)
    event.q_choice = QuestionFactory(
        event=event,
        label="Sessie",
        kind=Question.Kind.CHOICE,
        choices="Ochtend\nMiddag",
        position=1,
    )
    event.q_yes_no = QuestionFactory(
        event=event, label="Lunch", kind=Question.Kind.YES_NO, position=2
    )
    return event


def valid_body(ev, **changes):
    body = {
        "event": ev.pk,
        "booker": {"name": "Hanna de Vries", "email": "hr@example.nl"},
        "attendees": [
            {
                "name": "Piet Pieters",
                "email": "piet@example.nl",
                "ticket_type": ev.tt.pk,
                "answers": {str(ev.q_text.pk): "Geen"},
            }
        ],
    }
    body.update(changes)
    return body


def attendee(event, **changes):
    row = {
        "name": "Piet Pieters",
        "email": "piet@example.nl",
        "ticket_type": event.tt.pk,
        "answers": {str(event.q_text.pk): "Geen"},
    }
    row.update(changes)
    return row


def assert_nothing_written():
    assert not Registration.objects.exists()
    assert not Ticket.objects.exists()
    assert not Person.objects.exists()
    assert not OutboxMail.objects.exists()
    assert not CampaignParticipation.objects.exists()


def post(client, url, body, language=None):
    extra = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = client.post(url, body, format="json", **extra)
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] == "invalid"
    assert data["detail"]
    assert_nothing_written()
    return data["errors"]


def test_valid_body_is_accepted(org_client, event):
    """The baseline the cases below change one field of."""
    assert org_client.post("/api/v1/bookings/", valid_body(event), format="json").status_code == 201


def other_event_ticket_type(event):
    return TicketTypeFactory(event=EventFactory()).pk


BOOKING_CASES = [
    # (id, change(event) -> body, field, Dutch message, English message)
    ("event_missing", lambda e: {k: v for k, v in valid_body(e).items() if k != "event"},
     "event", "Dit veld is vereist.", "This field is required."),
    ("event_unknown", lambda e: valid_body(e, event=999999),
     "event", "Er is geen gepubliceerd evenement met dit id.",
     "There is no published event with this id."),
    ("booker_email", lambda e: valid_body(e, booker={"name": "H", "email": "geen-adres"}),
     "booker.email", "Voer een geldig e-mailadres in.", "Enter a valid email address."),
    ("booker_name", lambda e: valid_body(e, booker={"name": "", "email": "hr@example.nl"}),
     "booker.name", "Dit veld mag niet leeg zijn.", "This field may not be blank."),
    ("no_attendees", lambda e: valid_body(e, attendees=[]),
     "attendees", "Deze lijst mag niet leeg zijn.", "This list may not be empty."),
    ("too_many_attendees",
     lambda e: valid_body(e, attendees=[attendee(e, email=f"a{i}@example.nl") for i in range(3)]),
     "attendees", "Er kunnen maximaal 2 deelnemers tegelijk worden geboekt voor dit evenement.",
     "At most 2 attendees can be booked at once for this event."),
    ("attendee_email", lambda e: valid_body(e, attendees=[attendee(e, email="piet@")]),
     "attendees.0.email", "Voer een geldig e-mailadres in.", "Enter a valid email address."),
    ("unknown_ticket_type", lambda e: valid_body(e, attendees=[attendee(e, ticket_type=999999)]),
     "attendees.0.ticket_type", "Dit tickettype hoort niet bij dit evenement.",
     "This ticket type does not belong to this event."),
    ("other_events_ticket_type",
     lambda e: valid_body(e, attendees=[attendee(e, ticket_type=other_event_ticket_type(e))]),
     "attendees.0.ticket_type", "Dit tickettype hoort niet bij dit evenement.",
     "This ticket type does not belong to this event."),
    ("required_answer_missing", lambda e: valid_body(e, attendees=[attendee(e, answers={})]),
     "attendees.0.answers.{q_text}", "Deze vraag moet worden beantwoord.",
     "This question must be answered."),
    ("choice_answer",
     lambda e: valid_body(e, attendees=[attendee(
         e, answers={str(e.q_text.pk): "Geen", str(e.q_choice.pk): "Avond"})]),
     "attendees.0.answers.{q_choice}", "Kies een van: Ochtend, Middag.",
     "Choose one of: Ochtend, Middag."),
    ("yes_no_answer",
     lambda e: valid_body(e, attendees=[attendee(
         e, answers={str(e.q_text.pk): "Geen", str(e.q_yes_no.pk): "misschien"})]),
     "attendees.0.answers.{q_yes_no}", 'Antwoord "yes" of "no".', 'Answer "yes" or "no".'),
    ("unknown_question",
     lambda e: valid_body(e, attendees=[attendee(
         e, answers={str(e.q_text.pk): "Geen", "999999": "x"})]),
     "attendees.0.answers.999999", "Deze vraag hoort niet bij dit evenement.",
     "This question does not belong to this event."),
    ("payment_method", lambda e: valid_body(e, payment_method="contant"),
     "payment_method", '"contant" is een ongeldige keuze.', '"contant" is not a valid choice.'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "dutch", "english"),
    [case[1:] for case in BOOKING_CASES],
    ids=[case[0] for case in BOOKING_CASES],
)
def test_booking_field_errors_in_dutch_and_english(
    org_client, event, change, field, dutch, english
):
    field = field.format(
        q_text=event.q_text.pk, q_choice=event.q_choice.pk, q_yes_no=event.q_yes_no.pk
    )
    body = change(event)
    errors = post(org_client, "/api/v1/bookings/", body)
    assert errors[field] == [dutch], errors
    errors = post(org_client, "/api/v1/bookings/", body, language="en")
    assert errors[field] == [english], errors


def test_every_bad_field_is_reported_at_once(org_client, event):
    body = valid_body(
        event,
        booker={"name": "", "email": "x"},
        attendees=[attendee(event, email="y", ticket_type=999999, answers={})],
        payment_method="contant",
    )
    errors = post(org_client, "/api/v1/bookings/", body)
    assert set(errors) >= {"booker.name", "booker.email", "attendees.0.email", "payment_method"}


def test_non_json_body_is_400_not_500(org_client):
    response = org_client.post("/api/v1/bookings/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert_nothing_written()


def sign_up_body(week, **changes):
    body = {
        "event": week.pk,
        "contact": {"name": "Anna Jansen", "email": "anna@example.nl"},
        "activities": ["workshop"],
        "employees_reached": 50,
    }
    body.update(changes)
    return body


SIGN_UP_CASES = [
    ("contact_email", {"contact": {"name": "Anna", "email": "anna"}},
     "contact.email", "Voer een geldig e-mailadres in.", "Enter a valid email address."),
    ("activities_empty", {"activities": []},
     "activities", "Deze lijst mag niet leeg zijn.", "This list may not be empty."),
    ("activity_unknown", {"activities": ["borrel"]},
     "activities.0", '"borrel" is een ongeldige keuze.', '"borrel" is not a valid choice.'),
    ("employees_reached", {"employees_reached": 0},
     "employees_reached", "Zorg ervoor dat deze waarde groter is dan of gelijk is aan 1.",
     "Ensure this value is greater than or equal to 1."),
    ("kvk_number", {"organisation": {"kvk_number": "1234"}},
     "organisation.kvk_number", "Een KvK-nummer bestaat uit precies 8 cijfers, "
     "bijvoorbeeld 12345678.", "A KvK number has exactly 8 digits, for example 12345678."),
    ("postcode", {"organisation": {"postcode": "1234"}},
     "organisation.postcode", "Vul een Nederlandse postcode in, zoals 1234 AB.",
     "Enter a Dutch postcode like 1234 AB."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field", "dutch", "english"),
    [case[1:] for case in SIGN_UP_CASES],
    ids=[case[0] for case in SIGN_UP_CASES],
)
def test_sign_up_field_errors_in_dutch_and_english(org_client, changes, field, dutch, english):
    week = CampaignWeekFactory()
    organisations = list(Organisation.objects.values_list("pk", "name", "postcode"))
    body = sign_up_body(week, **changes)
    errors = post(org_client, "/api/v1/participations/", body)
    assert errors[field] == [dutch], errors
    errors = post(org_client, "/api/v1/participations/", body, language="en")
    assert errors[field] == [english], errors
    assert list(Organisation.objects.values_list("pk", "name", "postcode")) == organisations


def test_authentication_errors_are_translated(api_client):
    response = api_client.get("/api/v1/bookings/")
    assert response.json()["detail"] == "Authenticatiegegevens zijn niet opgegeven."
    response = api_client.get("/api/v1/bookings/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_other_organisations_data_untouched_on_error(org_client, event):
    OrganisationFactory()
    post(org_client, "/api/v1/bookings/", valid_body(event, attendees=[]))


@pytest.mark.parametrize("big", [2**63, 10**30])
def test_huge_ids_are_field_errors_or_404_never_500(org_client, event, big):
    errors = post(org_client, "/api/v1/bookings/", valid_body(event, event=big))
    assert "event" in errors
    errors = post(
        org_client,
        "/api/v1/bookings/",
        valid_body(event, attendees=[attendee(event, ticket_type=big)]),
    )
    assert "attendees.0.ticket_type" in errors
    assert org_client.get(f"/api/v1/events/{big}/").status_code == 404
    assert org_client.post(f"/api/v1/tickets/{big}/cancel/").status_code == 404


@pytest.mark.parametrize("value", [0, 1.5, True, ["Piet"], {"first": "Piet"}])
@pytest.mark.parametrize("where", ["booker", "attendee"])
def test_a_name_that_is_not_a_string_is_refused_not_coerced(org_client, event, value, where):
    # DRF's CharField would store 0 as "0": the schema says string, so this is a client error.
    body = valid_body(event)
    if where == "booker":
        body["booker"]["name"] = value
    else:
        body["attendees"][0]["name"] = value
    before = Person.objects.count()
    response = org_client.post("/api/v1/bookings/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    key = "booker.name" if where == "booker" else "attendees.0.name"
    assert key in errors, errors
    assert Person.objects.count() == before
