"""Booking pages: individual and group bookings, no-JavaScript "add attendee", errors next to
the right field, sold out -> waiting list, approval and payment statuses. Real services."""

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext

from participants.models import Answer, Person, Registration, Ticket, WaitingListEntry
from tests.factories import TicketFactory, TicketTypeFactory

from .a11y import assert_accessible_basics

pytestmark = pytest.mark.django_db


def booking_data(ticket_type, rows, **booker) -> dict:
    data = {
        "booker_name": "Bea Boeker",
        "booker_email": "bea@werkgever.example.nl",
        "organisation_name": "",
        "kvk_number": "",
        "payment_method": "online",
        "attendees-TOTAL_FORMS": str(len(rows)),
        "attendees-INITIAL_FORMS": "0",
        "attendees-MIN_NUM_FORMS": "1",
        "attendees-MAX_NUM_FORMS": "25",
    }
    data.update(booker)
    for i, row in enumerate(rows):
        data[f"attendees-{i}-ticket_type"] = str(row.pop("ticket_type", ticket_type.pk))
        for key, value in row.items():
            data[f"attendees-{i}-{key}"] = value
    return data


def counts():
    return (Registration.objects.count(), Ticket.objects.count(), Person.objects.count())


def url(event, language="nl"):
    return f"/{language}/events/{event.slug}/book/"


@pytest.mark.parametrize(("language", "text"), [("nl", "Boeken voor"), ("en", "Book for")])
def test_booking_form_renders_in_both_languages(client, congress, questions, language, text):
    response = client.get(url(congress, language))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert text in html
    assert "Welke workshop?" in html
    assert_accessible_basics(html)


def test_individual_books_for_themself(client, congress, ticket_type):
    response = client.post(url(congress), booking_data(ticket_type, [{"name": "", "email": ""}]))
    assert response.status_code == 302
    registration = Registration.objects.get()
    ticket = registration.tickets.get()
    assert ticket.person.name == "Bea Boeker"
    assert ticket.person.email == "bea@werkgever.example.nl"
    assert registration.status == Registration.Status.CONFIRMED
    page = client.get(response["Location"])
    html = page.content.decode()
    assert registration.code in html
    assert "Bevestigd" in html
    assert "Bedankt voor uw boeking" in html
    assert_accessible_basics(html)


def test_group_booking_with_answers(client, congress, ticket_type, questions):
    rows = [
        {
            "name": "Ans",
            "email": "ans@example.nl",
            f"q_{questions['workshop'].pk}": "Ochtend",
            f"q_{questions['lunch'].pk}": "yes",
            f"q_{questions['diet'].pk}": "Vegetarisch",
        },
        {
            "name": "Bert",
            "email": "bert@example.nl",
            f"q_{questions['workshop'].pk}": "Middag",
            f"q_{questions['lunch'].pk}": "no",
        },
        {
            "name": "Cor",
            "email": "cor@example.nl",
            f"q_{questions['workshop'].pk}": "Ochtend",
            f"q_{questions['lunch'].pk}": "yes",
        },
    ]
    response = client.post(url(congress), booking_data(ticket_type, rows))
    assert response.status_code == 302, response.content.decode()[:3000]
    registration = Registration.objects.get()
    names = list(registration.tickets.order_by("id").values_list("person__name", flat=True))
    assert names == ["Ans", "Bert", "Cor"]
    assert registration.booker.name == "Bea Boeker"
    ans = Answer.objects.filter(ticket__person__name="Ans")
    assert {a.question_id: a.value for a in ans} == {
        questions["workshop"].pk: "Ochtend",
        questions["lunch"].pk: "yes",
        questions["diet"].pk: "Vegetarisch",
    }
    assert (
        Answer.objects.get(ticket__person__name="Bert", question=questions["lunch"]).value == "no"
    )
    html = client.get(response["Location"]).content.decode()
    for name in names:
        assert name in html


def test_add_attendee_without_javascript_keeps_data(client, congress, ticket_type, questions):
    before = counts()
    data = booking_data(
        ticket_type,
        [{"name": "Ans", "email": "ans@example.nl", f"q_{questions['diet'].pk}": "Halal"}],
    )
    data["add_attendee"] = "1"
    response = client.post(url(congress), data)
    assert response.status_code == 200
    assert counts() == before
    html = response.content.decode()
    assert 'name="attendees-TOTAL_FORMS" value="2"' in html
    assert 'name="attendees-1-name"' in html
    assert 'value="Ans"' in html and 'value="ans@example.nl"' in html and 'value="Halal"' in html
    assert 'value="Bea Boeker"' in html
    # The next "add" lands the browser on the row after this one (no JavaScript needed).
    assert f'formaction="/nl/events/{congress.slug}/book/#attendee-3"' in html
    assert 'id="attendee-2"' in html
    # Not an error page: half-filled rows are not judged yet.
    assert "error-summary" not in html
    assert_accessible_basics(html)


def test_add_attendee_stops_at_the_maximum(client, congress, ticket_type):
    congress.max_tickets_per_booking = 2
    congress.save()
    data = booking_data(
        ticket_type,
        [{"name": "A", "email": "a@example.nl"}, {"name": "B", "email": "b@example.nl"}],
    )
    data["add_attendee"] = "1"
    html = client.post(url(congress), data).content.decode()
    assert 'name="attendees-TOTAL_FORMS" value="2"' in html
    assert "Nog een deelnemer toevoegen" not in html


def test_empty_extra_rows_are_ignored(client, congress, ticket_type):
    rows = [{"name": "Ans", "email": "ans@example.nl"}, {"name": "", "email": ""}]
    assert client.post(url(congress), booking_data(ticket_type, rows)).status_code == 302
    assert Ticket.objects.count() == 1


def test_duplicate_email_is_shown_at_the_second_attendee(client, congress, ticket_type):
    before = counts()
    rows = [{"name": "Ans", "email": "ans@example.nl"}, {"name": "Bert", "email": "ANS@example.nl"}]
    response = client.post(url(congress), booking_data(ticket_type, rows))
    assert response.status_code == 400
    assert counts() == before
    html = response.content.decode()
    block = html.split('id="id_attendees-1-email_error"', 1)[1].split("</p>", 1)[0]
    with translation.override("nl"):
        assert gettext("This e-mail address is used twice in this booking.") in block
    assert 'href="#id_attendees-1-email"' in html
    assert 'value="Bert"' in html
    assert_accessible_basics(html)


def test_email_already_booked_is_shown_at_the_booker_when_row_0_is_blank(
    client, congress, ticket_type
):
    TicketFactory(
        registration__event=congress,
        ticket_type=ticket_type,
        person__email="bea@werkgever.example.nl",
    )
    before = counts()
    response = client.post(url(congress), booking_data(ticket_type, [{"name": "", "email": ""}]))
    assert response.status_code == 400
    assert counts() == before
    html = response.content.decode()
    assert 'id="id_booker_email_error"' in html


@pytest.mark.parametrize(
    ("row", "field", "dutch"),
    [
        ({"name": "Ans", "email": "geen-adres"}, "email", "e-mailadres"),
        ({"name": "", "email": "ans@example.nl"}, "name", "Vul de naam van de deelnemer in."),
        (
            {"name": "Ans", "email": "ans@example.nl", "q_workshop": ""},
            "q_workshop",
            "Beantwoord deze vraag.",
        ),
    ],
)
def test_attendee_field_errors_in_dutch(
    client, congress, ticket_type, questions, row, field, dutch
):
    row = dict(row)
    workshop = questions["workshop"].pk
    row.setdefault(f"q_{questions['lunch'].pk}", "yes")
    if "q_workshop" in row:
        row.pop("q_workshop")
    else:
        row[f"q_{workshop}"] = "Ochtend"
    field = field.replace("q_workshop", f"q_{workshop}")
    before = counts()
    response = client.post(url(congress), booking_data(ticket_type, [row]))
    assert response.status_code == 400
    assert counts() == before
    html = response.content.decode()
    block = html.split(f'id="id_attendees-0-{field}_error"', 1)[1].split("</p>", 1)[0]
    assert dutch.lower() in block.lower()
    assert_accessible_basics(html)


def test_booker_errors_in_dutch(client, congress, ticket_type):
    data = booking_data(
        ticket_type, [{"name": "Ans", "email": "ans@example.nl"}], booker_email="x", kvk_number="12"
    )
    response = client.post(url(congress), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_booker_email_error"' in html
    assert "Een KvK-nummer" in html.split('id="id_kvk_number_error"', 1)[1].split("</p>", 1)[0]
    assert Registration.objects.count() == 0


def test_sold_out_offers_the_waiting_list(client, congress, ticket_type):
    congress.capacity = 1
    congress.save()
    # The page is opened while one place is left; someone else takes it before submitting.
    form_page = client.get(url(congress))
    assert form_page.status_code == 200
    TicketFactory(registration__event=congress, ticket_type=ticket_type)
    before = counts()
    response = client.post(url(congress), booking_data(ticket_type, [{"name": "", "email": ""}]))
    assert response.status_code == 409
    assert counts() == before
    html = response.content.decode()
    assert "Zet u op de wachtlijst" in html
    assert 'value="Bea Boeker"' in html
    assert_accessible_basics(html)
    # A later visit to the booking page goes straight to the waiting list.
    assert client.get(url(congress))["Location"].endswith("/waiting-list/")
    joined = client.post(
        f"/nl/events/{congress.slug}/waiting-list/",
        {"name": "Bea Boeker", "email": "bea@werkgever.example.nl", "ticket_type": ticket_type.pk},
    )
    assert joined.status_code == 200
    entry = WaitingListEntry.objects.get()
    assert entry.status == WaitingListEntry.Status.WAITING
    assert entry.person.email == "bea@werkgever.example.nl"
    html = joined.content.decode()
    assert "U staat op de wachtlijst" in html
    assert_accessible_basics(html)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_waiting_list_form_renders_and_validates(client, congress, ticket_type, language):
    html = client.get(f"/{language}/events/{congress.slug}/waiting-list/").content.decode()
    assert f'<html lang="{language}">' in html
    assert_accessible_basics(html)
    response = client.post(
        f"/{language}/events/{congress.slug}/waiting-list/",
        {"name": "", "email": "nope", "ticket_type": ticket_type.pk},
    )
    assert response.status_code == 400
    assert WaitingListEntry.objects.count() == 0
    assert 'id="id_email_error"' in response.content.decode()


def test_approval_needed_event_shows_pending_status(client, congress, ticket_type):
    congress.requires_approval = True
    congress.save()
    response = client.post(url(congress), booking_data(ticket_type, [{"name": "", "email": ""}]))
    registration = Registration.objects.get()
    assert registration.status == Registration.Status.PENDING_APPROVAL
    html = client.get(response["Location"]).content.decode()
    assert "Wacht op goedkeuring" in html or "goedkeuring" in html
    assert "De organisator beoordeelt boekingen" in html


def test_paid_ticket_awaits_payment(client, congress, settings):
    # Online payment is only offered where it can work (payments.selectors): a Stripe account.
    settings.STRIPE_SECRET_KEY = "sk_test_werkstress"
    paid = TicketTypeFactory(event=congress, name="Betaald", price_cents=14900)
    html = client.get(url(congress)).content.decode()
    assert "Hoe wilt u betalen?" in html
    response = client.post(url(congress), booking_data(paid, [{"name": "", "email": ""}]))
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    html = client.get(response["Location"]).content.decode()
    assert "Betaal" in html or "betaal" in html
    token = re.search(r"/booking/([^/]+)/confirmation/", response["Location"]).group(1)
    try:
        from django.urls import reverse

        checkout = reverse("payments:checkout", kwargs={"token": token})
    except Exception:  # noqa: BLE001 - payments may not provide checkout yet
        checkout = None
    if checkout:
        assert checkout in html


def test_free_only_event_has_no_payment_choice(client, congress, ticket_type):
    html = client.get(url(congress)).content.decode()
    assert "Hoe wilt u betalen?" not in html


def test_closed_registration_shows_no_form(client, congress, ticket_type):
    from django.utils import timezone

    congress.registration_opens_at = timezone.now() + timezone.timedelta(days=1)
    congress.save()
    html = client.get(url(congress)).content.decode()
    assert "De inschrijving opent op" in html
    assert 'name="booker_name"' not in html
    assert_accessible_basics(html)


def test_payment_choice_is_enhanced_by_a_script_file_not_inline(client, congress, ticket_type):
    paid = TicketTypeFactory(event=congress, name="Betaald", price_cents=9900)
    html = client.get(url(congress)).content.decode()
    assert '<script src="/static/js/booking.js" defer></script>' in html
    assert f'data-paid-ticket-types="{paid.pk}"' in html
    # Without JavaScript the choice is simply there (and only "online" without an org service).
    assert 'name="payment_method"' in html


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"attendees-TOTAL_FORMS": "5000", "attendees-INITIAL_FORMS": "0"},
        {"attendees-TOTAL_FORMS": "x", "add_attendee": "1"},
        {"attendees-TOTAL_FORMS": "5000", "attendees-INITIAL_FORMS": "0", "add_attendee": "1"},
        {
            "attendees-TOTAL_FORMS": "1",
            "attendees-INITIAL_FORMS": "0",
            "attendees-0-ticket_type": "999999",
            "booker_name": "A",
            "booker_email": "a@example.nl",
        },
    ],
)
def test_garbage_input_never_500s_and_changes_nothing(
    client, congress, ticket_type, language, data
):
    before = counts()
    response = client.post(url(congress, language), data)
    assert response.status_code in (200, 400)
    assert counts() == before
    html = response.content.decode()
    assert html.count('class="attendee"') <= congress.max_tickets_per_booking
    assert_accessible_basics(html)


def test_full_ticket_type_is_marked_and_booking_it_offers_the_waiting_list(
    client, congress, ticket_type
):
    workshop = TicketTypeFactory(event=congress, name="Workshop", capacity=1, position=5)
    TicketFactory(registration__event=congress, ticket_type=workshop)
    html = client.get(url(congress)).content.decode()
    assert "Workshop (gratis) - vol" in html
    assert "Gratis (gratis)</option>" in html
    detail = client.get(f"/nl/events/{congress.slug}/").content.decode()
    assert "Is het ticket dat u wilt vol?" in detail
    response = client.post(
        url(congress),
        booking_data(ticket_type, [{"name": "", "email": "", "ticket_type": workshop.pk}]),
    )
    assert response.status_code == 409
    assert "Zet u op de wachtlijst" in response.content.decode()
    assert Registration.objects.filter(booker__email="bea@werkgever.example.nl").count() == 0


def test_booking_for_an_employer_links_or_creates_the_organisation(client, congress, ticket_type):
    from organisations.models import Organisation
    from tests.factories import OrganisationFactory

    existing = OrganisationFactory(kvk_number="12345678", name="Bestaande BV")
    response = client.post(
        url(congress),
        booking_data(
            ticket_type,
            [{"name": "", "email": ""}],
            kvk_number="1234 5678",
            organisation_name="Andere naam",
        ),
    )
    assert response.status_code == 302
    assert Registration.objects.get().organisation == existing
    assert Organisation.objects.filter(kvk_number="12345678").count() == 1

    response = client.post(
        url(congress),
        booking_data(
            ticket_type,
            [{"name": "Nieuw", "email": "nieuw@example.nl"}],
            kvk_number="87654321",
            organisation_name="Nieuwe Werkgever BV",
            booker_email="hr@nieuw.example.nl",
        ),
    )
    assert response.status_code == 302
    created = Organisation.objects.get(kvk_number="87654321")
    assert (created.name, created.kind, created.listed_publicly) == (
        "Nieuwe Werkgever BV",
        Organisation.Kind.EMPLOYER,
        False,
    )
    assert Registration.objects.filter(organisation=created).count() == 1


def test_refused_employer_booking_leaves_no_organisation_behind(client, congress, ticket_type):
    from organisations.models import Organisation

    congress.capacity = 1
    congress.save()
    form_page = client.get(url(congress))
    assert form_page.status_code == 200
    TicketFactory(registration__event=congress, ticket_type=ticket_type)
    organisations_before = Organisation.objects.count()
    response = client.post(
        url(congress),
        booking_data(
            ticket_type,
            [{"name": "", "email": ""}],
            kvk_number="87654321",
            organisation_name="Nieuwe Werkgever BV",
        ),
    )
    assert response.status_code == 409
    assert Organisation.objects.count() == organisations_before


def test_paid_booking_by_invoice_for_an_employer_is_confirmed(client, congress):
    paid = TicketTypeFactory(event=congress, name="Regulier", price_cents=14900)
    response = client.post(
        url(congress),
        booking_data(
            paid,
            [{"name": "", "email": ""}],
            kvk_number="87654321",
            organisation_name="Nieuwe Werkgever BV",
            payment_method="invoice",
        ),
    )
    assert response.status_code == 302
    registration = Registration.objects.get()
    assert registration.organisation.kvk_number == "87654321"
    assert registration.payment_method == Registration.PaymentMethod.INVOICE
    assert registration.status == Registration.Status.CONFIRMED
