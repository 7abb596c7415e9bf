"""Online payment is offered only when it can work, and a payment provider that is down is
said to be down, keeps the booker's places and never gets blamed on the booker.

Every place that offers a way to pay (the public booking form, the booker's pages, the
organisation portal, the API, the pay page) is swept over the states Stripe can be in:
not configured, configured and up, and configured but down (connection refused on a closed
port, HTTP 500 from the fake Stripe, a timeout). The fake Stripe is real HTTP on loopback
(tests/payments/fake_stripe.py); mails are rendered by the real outbox renderer.
"""

import re
import socket
from datetime import timedelta

import pytest
import yaml
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from openapi_spec_validator import validate

from common.errors import RuleViolation
from communications.models import OutboxMail
from communications.sending import render_mail
from participants.links import booking_from_token, booking_token
from participants.models import Person, Registration, Ticket
from payments import selectors, services, stripe_gateway
from payments.models import Payment
from tests.api.conftest import make_token_client
from tests.factories import MembershipFactory, OrganisationFactory, TicketTypeFactory, UserFactory

from .conftest import book, post_event, start_checkout

pytestmark = pytest.mark.django_db

UP = "configured"
DOWN = ("refused", "http500", "timeout")
STATES = ("unconfigured", UP, *DOWN)

# What the old expiry mail said: the booker paid too late.
BLAME = ("niet op tijd ontvangen", "did not receive the payment")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def set_stripe_state(state: str, fake, settings) -> None:
    """Put Stripe in ``state`` (the fake_stripe fixture configured it and started the fake)."""
    fake.outage_status = None
    fake.delay_seconds = 0.0
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_TIMEOUT_SECONDS = 20.0
    if state == "unconfigured":
        settings.STRIPE_SECRET_KEY = ""
    elif state == "refused":
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{_closed_port()}"
    elif state == "http500":
        fake.outage_status = 500
    elif state == "timeout":
        settings.STRIPE_TIMEOUT_SECONDS = 0.3
        fake.delay_seconds = 1.0
    stripe_gateway._client.cache_clear()


@pytest.fixture(autouse=True)
def _dutch():
    # reverse() uses the active language; a request in another language must not leak in.
    with translation.override("nl"):
        yield


@pytest.fixture(params=STATES)
def stripe_state(request, fake_stripe, settings):
    set_stripe_state(request.param, fake_stripe, settings)
    return request.param


@pytest.fixture(params=DOWN)
def stripe_down(request, fake_stripe, settings):
    set_stripe_state(request.param, fake_stripe, settings)
    return request.param


def online_offered(state: str) -> bool:
    # An outage is temporary: the method stays on offer, the pay page says the provider is
    # down and the hold is kept. Without a Stripe account it can never work.
    return state != "unconfigured"


def form_data(ticket_type, *, payment_method="online", kvk="", organisation="", n=0) -> dict:
    return {
        "booker_name": f"Bea Boeker {n}",
        "booker_email": f"bea{n}@werkgever.example.nl",
        "organisation_name": organisation,
        "kvk_number": kvk,
        "payment_method": payment_method,
        "attendees-TOTAL_FORMS": "1",
        "attendees-INITIAL_FORMS": "0",
        "attendees-MIN_NUM_FORMS": "1",
        "attendees-MAX_NUM_FORMS": "25",
        "attendees-0-ticket_type": str(ticket_type.pk),
        "attendees-0-name": "",
        "attendees-0-email": "",
    }


def form_url(event) -> str:
    return f"/nl/events/{event.slug}/book/"


def counts() -> tuple:
    return (Registration.objects.count(), Ticket.objects.count(), Person.objects.count())


def local_time(moment) -> str:
    return date_format(timezone.localtime(moment), "H:i")


# --- Where a way to pay is offered ----------------------------------------------------------


def test_public_form_offers_ideal_only_when_it_can_work(
    client, stripe_state, paid_event, paid_type
):
    html = client.get(form_url(paid_event)).content.decode()
    choices = set(re.findall(r'name="payment_method" value="(\w+)"', html))
    assert choices == ({"online", "invoice"} if online_offered(stripe_state) else {"invoice"})
    plain = "Online betalen is op dit moment niet mogelijk"
    assert (plain in html) is not online_offered(stripe_state)
    if not online_offered(stripe_state):
        assert "iDEAL" not in html
        # The only choice left is the one that works: invoice, checked.
        assert re.search(r'value="invoice"[^>]*checked', html)


@pytest.mark.parametrize(
    ("method", "kvk", "paid"),
    [
        ("online", "", True),
        ("online", "12345678", True),
        ("invoice", "12345678", True),
        ("online", "", False),
        ("", "", True),
    ],
)
def test_public_form_books_only_with_a_way_to_pay_that_works(
    client, fake_stripe, stripe_state, paid_event, paid_type, method, kvk, paid
):
    ticket_type = paid_type if paid else TicketTypeFactory(event=paid_event, name="Gratis")
    data = form_data(
        ticket_type, payment_method=method, kvk=kvk, organisation="Zorg BV" * bool(kvk)
    )
    before = counts()
    response = client.post(form_url(paid_event), data)

    refused = paid and method != "invoice" and not online_offered(stripe_state)
    if refused:
        assert response.status_code == 400
        assert counts() == before
        html = response.content.decode()
        error = html.split('id="id_payment_method_error"', 1)[1].split("</p>", 1)[0]
        expected = "Kies voor betalen per factuur" if kvk else "alleen boeken op factuur"
        assert "Online betalen is op dit moment niet mogelijk" in error and expected in error
        return
    assert response.status_code == 302, response.content.decode()[:2000]
    registration = Registration.objects.get()
    if not paid:
        assert registration.status == Registration.Status.CONFIRMED
    elif method == "invoice":
        assert registration.status == Registration.Status.CONFIRMED
        assert registration.payment_method == Registration.PaymentMethod.INVOICE
    else:
        assert registration.status == Registration.Status.AWAITING_PAYMENT
        assert registration.payment_method == Registration.PaymentMethod.ONLINE
    # Showing and booking never call Stripe: only the pay page does.
    assert not fake_stripe.requests


@pytest.mark.parametrize("paid", [True, False])
@pytest.mark.parametrize("method", ["online", "invoice"])
def test_api_refuses_a_way_to_pay_that_cannot_work(
    stripe_state, paid_event, paid_type, paid, method
):
    ticket_type = paid_type if paid else TicketTypeFactory(event=paid_event, name="Gratis")
    api = make_token_client()
    body = {
        "event": paid_event.pk,
        "booker": {"name": "Bea Boeker", "email": "bea@werkgever.example.nl"},
        "attendees": [
            {"name": "Ada", "email": "ada@werkgever.example.nl", "ticket_type": ticket_type.pk}
        ],
        "payment_method": method,
    }
    before = counts()
    response = api.post("/api/v1/bookings/", body, format="json", HTTP_ACCEPT_LANGUAGE="nl")

    if paid and method == "online" and not online_offered(stripe_state):
        assert response.status_code == 400
        data = response.json()
        assert data["code"] == "invalid"
        assert set(data["errors"]) == {"payment_method"}
        (message,) = data["errors"]["payment_method"]
        assert message.startswith("Online betalen is op dit moment niet mogelijk")
        assert "factuur" in message
        assert counts() == before
        return
    assert response.status_code == 201, response.json()
    data = response.json()
    awaiting = paid and method == "online"
    assert data["status"] == ("awaiting_payment" if awaiting else "confirmed")
    # A payment link only where paying online can work.
    assert ("payment_url" in data) is (awaiting and online_offered(stripe_state))


def test_api_schema_stays_valid_and_documents_the_refusal(client):
    schema = yaml.safe_load(
        client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi").content
    )
    validate(schema)
    operation = schema["paths"]["/api/v1/bookings/"]["post"]
    assert "400" in operation["responses"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert "configured" in component["properties"]["payment_method"]["description"]


def _pay_links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*/pay/[^"]+/)"', html)


def test_booker_pages_and_portal_offer_pay_now_only_when_it_can_work(
    stripe_state, paid_event, paid_type
):
    organisation = OrganisationFactory()
    registration = book(paid_event, paid_type, organisation=organisation)
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    token = booking_token(registration)
    member = Client()
    member.force_login(MembershipFactory(organisation=organisation, user=UserFactory()).user)
    pages = {
        "booking_done": (Client(), reverse("participants:booking_done", kwargs={"token": token})),
        "booking_manage": (
            Client(),
            reverse("participants:booking_manage", kwargs={"token": token}),
        ),
        "portal": (
            member,
            reverse(
                "organisations:booking",
                kwargs={"organisation_id": organisation.pk, "registration_id": registration.pk},
            ),
        ),
    }
    pay = reverse("payments:checkout", kwargs={"token": token})
    hold = local_time(registration.hold_expires_at)
    for name, (page_client, url) in pages.items():
        response = page_client.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        assert hold in html, name
        if online_offered(stripe_state):
            # Signed links carry a timestamp: compare what the link opens.
            (link,) = set(_pay_links(html))
            assert link.startswith(pay.split("/pay/")[0] + "/pay/"), name
            assert booking_from_token(link.rsplit("/pay/", 1)[1].strip("/")) == registration
            assert "Nu betalen" in html, name
        else:
            assert not _pay_links(html) and "Nu betalen" not in html, name
            assert "Online betalen is op dit moment niet mogelijk" in html, name
            # The old page promised a payment link by e-mail that never comes.
            assert "betaallink" not in html.lower(), name


def test_pay_page_offers_ideal_only_when_it_can_work(client, stripe_state, paid_event, paid_type):
    registration = book(paid_event, paid_type)
    url = reverse("payments:checkout", kwargs={"token": booking_token(registration)})
    html = client.get(url).content.decode()
    assert ("iDEAL" in html) is online_offered(stripe_state)
    assert (f'action="{url}"' in html) is online_offered(stripe_state)
    if not online_offered(stripe_state):
        assert "Online betalen is op dit moment niet mogelijk" in html


def test_without_stripe_the_pay_page_says_to_contact_the_organiser_not_to_wait(
    client, fake_stripe, paid_event, paid_type, settings
):
    set_stripe_state("unconfigured", fake_stripe, settings)
    registration = book(paid_event, paid_type)
    url = reverse("payments:checkout", kwargs={"token": booking_token(registration)})
    response = client.post(url)
    html = response.content.decode()
    assert response.status_code == 409
    assert settings.ORGANISER_EMAIL in html
    assert "paar minuten" not in html  # waiting does not bring a Stripe account
    assert not fake_stripe.requests
    assert not Payment.objects.exists()


# --- Provider down: the pay page, the hold, the mails ---------------------------------------


def test_provider_down_pay_page_is_honest_keeps_the_hold_and_records_the_failure(
    client, fake_stripe, settings, stripe_down, paid_event, paid_type
):
    registration = book(paid_event, paid_type)
    hold = registration.hold_expires_at
    url = reverse("payments:checkout", kwargs={"token": booking_token(registration)})

    response = client.post(url)

    html = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"]
    notice = html.split('id="provider-down"', 1)[1].split("</div>", 1)[0]
    assert "Onze betaalprovider is op dit moment niet bereikbaar" in notice
    assert f"Uw plaatsen blijven gereserveerd tot {local_time(hold)}" in notice
    assert "Opnieuw proberen" in html and 'method="post"' in html  # the retry
    registration.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    assert registration.hold_expires_at == hold
    assert registration.tickets.filter(status=Ticket.Status.RESERVED).count() == 1
    (failed,) = Payment.objects.filter(registration=registration)
    assert failed.status == Payment.Status.PROVIDER_ERROR
    assert failed.attempt == 1 and failed.stripe_session_id is None
    assert failed.provider_error  # what Stripe (or the network) said, for the organiser
    assert selectors.last_attempt_failed_at_provider(registration=registration)

    # The provider is back: the retry gets a session under the next attempt's key.
    set_stripe_state(UP, fake_stripe, settings)
    retry = client.post(url)
    assert retry.status_code == 303
    payment = Payment.objects.get(registration=registration, status=Payment.Status.OPEN)
    assert payment.attempt == 2 and retry["Location"] == payment.checkout_url
    assert not selectors.last_attempt_failed_at_provider(registration=registration)


def test_the_amsterdam_time_is_shown_when_the_hold_ends_on_another_day(
    client, fake_stripe, settings, paid_event, paid_type
):
    set_stripe_state("http500", fake_stripe, settings)
    registration = book(paid_event, paid_type)
    hold = timezone.now() + timedelta(days=1, hours=1)
    Registration.objects.filter(pk=registration.pk).update(hold_expires_at=hold)
    url = reverse("payments:checkout", kwargs={"token": booking_token(registration)})
    with translation.override("nl"):
        expected = date_format(timezone.localtime(hold), "j F Y, H:i")
    assert timezone.get_current_timezone_name() == "Europe/Amsterdam"
    assert expected in client.post(url).content.decode()


def _rendered(mail, language: str) -> str:
    mail.language = language
    message = render_mail(mail)
    return message.subject + "\n" + message.body + "\n" + message.alternatives[0][0]


def test_hold_is_extended_once_and_nobody_is_blamed_after_a_provider_failure(
    fake_stripe, settings, stripe_down, paid_event, paid_type, django_capture_on_commit_callbacks
):
    registration = book(paid_event, paid_type)
    with pytest.raises(RuleViolation):
        start_checkout(registration)
    first_end = registration.hold_expires_at
    minutes = paid_event.payment_hold_minutes

    # The hold runs out while our last attempt failed at the provider: kept one more period.
    assert services.holds_expire(now=first_end) == 0
    registration.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    assert registration.hold_expires_at == first_end + timedelta(minutes=minutes)
    assert registration.tickets.filter(status=Ticket.Status.RESERVED).count() == 1
    assert not OutboxMail.objects.filter(template="booking_expired").exists()
    extended = OutboxMail.objects.get(template="payment_hold_extended")
    text = _rendered(extended, "nl")
    assert "onze betaalprovider niet bereikbaar" in text
    assert f"tot {local_time(registration.hold_expires_at)}" in text
    assert reverse("payments:checkout", kwargs={"token": booking_token(registration)}) in text
    assert "not your doing" in _rendered(extended, "en")

    # Running again before the new end changes nothing; at the new end the places go, once,
    # with a mail that names the provider, not the booker.
    assert services.holds_expire(now=first_end + timedelta(minutes=1)) == 0
    second_end = registration.hold_expires_at
    assert services.holds_expire(now=second_end) == 1
    registration.refresh_from_db()
    assert registration.status == Registration.Status.EXPIRED
    assert not registration.tickets.filter(status__in=Ticket.HOLDS_PLACE).exists()
    assert OutboxMail.objects.filter(template="payment_hold_extended").count() == 1
    expired = OutboxMail.objects.get(template="booking_expired")
    assert expired.context.get("provider_failed") is True
    for language in ("nl", "en"):
        text = _rendered(expired, language)
        assert not any(phrase in text for phrase in BLAME), text
    assert "betaalprovider niet bereikbaar" in _rendered(expired, "nl")
    assert "payment provider could not be reached" in _rendered(expired, "en")


def test_without_a_provider_failure_the_hold_ends_on_time_with_a_neutral_mail(
    fake_stripe, paid_event, paid_type
):
    """The control: a booker who got a session and did not pay loses the places at the end of
    the hold, without an extension, and the mail states facts without blaming anyone."""
    registration = book(paid_event, paid_type)
    start_checkout(registration)
    assert services.holds_expire(now=registration.hold_expires_at) == 1
    registration.refresh_from_db()
    assert registration.status == Registration.Status.EXPIRED
    assert not OutboxMail.objects.filter(template="payment_hold_extended").exists()
    expired = OutboxMail.objects.get(template="booking_expired")
    assert "provider_failed" not in expired.context
    for language in ("nl", "en"):
        text = _rendered(expired, language)
        assert not any(phrase in text for phrase in BLAME), text
        assert "provider" not in text
    assert f"vastgehouden tot {local_time(registration.hold_expires_at)}" in _rendered(
        expired, "nl"
    )


def test_an_older_session_expiring_does_not_end_a_hold_extended_after_a_provider_failure(
    client, fake_stripe, settings, paid_event, paid_type
):
    registration = book(paid_event, paid_type)
    first = start_checkout(registration)
    # That session is about to run out, and the next attempt fails at the provider.
    Payment.objects.filter(pk=first.pk).update(expires_at=timezone.now())
    set_stripe_state("http500", fake_stripe, settings)
    with pytest.raises(RuleViolation, match="betaalprovider|payment provider"):
        start_checkout(registration)
    end = registration.hold_expires_at
    assert services.holds_expire(now=end) == 0
    registration.refresh_from_db()
    assert registration.hold_expires_at > timezone.now()

    # Stripe now reports the older session expired: the extended hold still stands.
    set_stripe_state(UP, fake_stripe, settings)
    obj = dict(fake_stripe.sessions[first.stripe_session_id], status="expired")
    assert post_event(client, fake_stripe.event("checkout.session.expired", obj)).status_code == 200
    registration.refresh_from_db()
    assert registration.status == Registration.Status.AWAITING_PAYMENT
    assert registration.tickets.filter(status=Ticket.Status.RESERVED).count() == 1


def test_a_timed_out_attempt_whose_session_stripe_did_make_is_one_row(
    client, fake_stripe, settings, paid_event, paid_type
):
    """A timeout can hide a session Stripe made after all: its webhook finds the attempt we
    recorded as failed and takes it over instead of failing on the attempt number."""
    set_stripe_state("timeout", fake_stripe, settings)
    registration = book(paid_event, paid_type)
    with pytest.raises(RuleViolation, match="betaalprovider|payment provider"):
        start_checkout(registration)
    # The fake answered too late but made the session (the retries were replays).
    (session,) = fake_stripe.sessions.values()
    assert session["metadata"]["attempt"] == "1"

    set_stripe_state(UP, fake_stripe, settings)
    obj = dict(session, status="expired")
    assert post_event(client, fake_stripe.event("checkout.session.expired", obj)).status_code == 200
    (payment,) = Payment.objects.filter(registration=registration)
    assert payment.attempt == 1 and payment.stripe_session_id == session["id"]
    assert payment.status == Payment.Status.EXPIRED
    assert payment.provider_error  # the history stays


def test_selector_is_the_one_rule(settings):
    settings.STRIPE_SECRET_KEY = ""
    assert selectors.payment_methods_available(for_organisation=True) == ["invoice"]
    assert selectors.payment_methods_available(for_organisation=False) == []
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert selectors.payment_methods_available(for_organisation=True) == ["online", "invoice"]
    assert selectors.payment_methods_available(for_organisation=False) == ["online"]
    assert selectors.payment_method_refusal(method="online", for_organisation=False) is None
    assert selectors.payment_method_refusal(method="invoice", for_organisation=False)
    assert selectors.payment_method_refusal(method="contant", for_organisation=True)


def test_form_without_any_way_to_pay_offers_no_broken_choice_and_says_so(
    client, paid_event, paid_type, monkeypatch
):
    """Should no way to pay be left at all (a rule that takes invoice away too), the form
    says so plainly instead of showing an empty or broken choice."""
    monkeypatch.setattr(selectors, "payment_methods_available", lambda **kwargs: [])
    html = client.get(form_url(paid_event)).content.decode()
    assert 'name="payment_method"' not in html
    assert "Betaalde tickets kunt u op dit moment niet boeken" in html
