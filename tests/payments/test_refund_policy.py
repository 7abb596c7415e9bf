"""The per-event refund policy (events.Event.refund_percent / refund_fee_cents): what a
cancelled paid ticket gets back at Stripe and on the credit note, when nothing goes back, that
a repeated cancellation stays one refund, and what the booker is told before and after."""

import pytest
from django.urls import reverse

from communications.models import OutboxMail
from communications.sending import render_mail_with_attachments
from events.models import Event
from participants.links import booking_token, ticket_token
from participants.models import Registration, Ticket
from participants.services import (
    AttendeeInput,
    registration_cancel,
    registration_create,
    ticket_cancel,
)
from payments import hooks, selectors, services
from payments.models import Invoice, Payment, Refund
from payments.vat import vat_split
from tests.factories import TicketTypeFactory

from .conftest import book, book_by_invoice, post_event, start_checkout

pytestmark = pytest.mark.django_db


def stripe_refunds(fake_stripe) -> list[dict]:
    return [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]


@pytest.fixture
def pay(client, fake_stripe, django_capture_on_commit_callbacks):
    """Book `count` tickets of a type and pay them through the fake Stripe (signed webhook)."""

    def pay(event, ticket_type, *, count=2, n=0):
        registration = book(event, ticket_type, n=n, count=count)
        payment = start_checkout(registration)
        obj = fake_stripe.complete_session(payment.stripe_session_id)
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(client, fake_stripe.event("checkout.session.completed", obj))
        assert response.status_code == 200
        registration.refresh_from_db()
        payment.refresh_from_db()
        assert registration.status == Registration.Status.CONFIRMED
        return registration, payment

    return pay


def set_policy(event: Event, *, percent: int = 100, fee_cents: int = 0) -> None:
    Event.objects.filter(pk=event.pk).update(refund_percent=percent, refund_fee_cents=fee_cents)
    event.refresh_from_db()


# --- The arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "percent", "fee", "expected"),
    [
        (12100, 100, 0, 12100),
        (12100, 50, 0, 6050),
        (12100, 50, 500, 5550),
        (12100, 100, 1100, 11000),
        (12100, 0, 0, 0),
        (12100, 100, 12100, 0),  # fee equal to the price: nothing back
        (12100, 50, 9000, 0),  # never below zero
        (999, 33, 0, 329),  # 329.67 rounds down: never above the percentage
    ],
)
def test_refund_is_price_times_percent_minus_fee_never_negative(price, percent, fee, expected):
    assert (
        selectors.refund_cents_by_policy(price_cents=price, percent=percent, fee_cents=fee)
        == expected
    )


# --- Refunds at Stripe and credit notes ------------------------------------------------------


def test_percent_50_refunds_half_at_stripe_and_credits_half_on_the_credit_note(
    fake_stripe, pay, paid_event, paid_type, django_capture_on_commit_callbacks
):
    set_policy(paid_event, percent=50)
    registration, payment = pay(paid_event, paid_type)
    ticket = registration.tickets.order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=ticket, actor="attendee")

    refund = Refund.objects.get()
    assert (refund.amount_cents, refund.reason, refund.status) == (
        6050,
        Refund.Reason.CANCELLED,
        Refund.Status.SUCCEEDED,
    )
    assert refund.idempotency_key == f"refund-{payment.pk}-tickets-{ticket.pk}"  # as before
    (sent,) = stripe_refunds(fake_stripe)
    assert sent["params"]["amount"] == "6050"
    assert sent["idempotency_key"] == refund.idempotency_key
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_cents) == (
        Payment.Status.PARTIALLY_REFUNDED,
        6050,
    )

    # The credit note credits exactly the refunded half, VAT split of that half.
    credit = refund.credit_note
    assert credit.original == Invoice.objects.get(
        registration=registration, kind=Invoice.Kind.INVOICE
    )
    assert (credit.total_gross_cents, credit.total_net_cents, credit.total_vat_cents) == (
        -6050,
        -5000,
        -1050,
    )
    (line,) = credit.lines.all()
    assert (line.quantity, line.unit_price_cents, line.gross_cents) == (-1, 6050, -6050)
    assert "gedeeltelijke terugbetaling" in line.description
    mail = OutboxMail.objects.get(key=f"payment_refunded:{refund.pk}")
    assert mail.attachments == [{"type": "invoice_pdf", "invoice_id": credit.pk}]


def test_fee_per_ticket_is_kept_from_the_refund_of_a_whole_booking(
    fake_stripe, pay, paid_event, paid_type, django_capture_on_commit_callbacks
):
    set_policy(paid_event, percent=100, fee_cents=1100)
    registration, payment = pay(paid_event, paid_type, count=2)
    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=registration, actor="booker")

    refund = Refund.objects.get()
    assert refund.amount_cents == 2 * (12100 - 1100)
    assert [r["params"]["amount"] for r in stripe_refunds(fake_stripe)] == ["22000"]
    payment.refresh_from_db()
    # 2200 of the 24200 stays with the organiser: not a full refund.
    assert (payment.status, payment.amount_refunded_cents) == (
        Payment.Status.PARTIALLY_REFUNDED,
        22000,
    )
    credit = refund.credit_note
    net, vat = vat_split(gross_cents=22000, rate=paid_type.vat_rate)
    assert (credit.total_gross_cents, credit.total_net_cents, credit.total_vat_cents) == (
        -22000,
        -net,
        -vat,
    )
    (line,) = credit.lines.all()
    assert (line.quantity, line.unit_price_cents) == (-2, 11000)


def test_percent_and_fee_together_over_two_ticket_types(
    client, fake_stripe, paid_event, paid_type, django_capture_on_commit_callbacks
):
    """Each ticket type keeps its own VAT rate on the credit note."""
    set_policy(paid_event, percent=50, fee_cents=500)
    low = TicketTypeFactory(event=paid_event, name="Boek", price_cents=2180, vat_rate=9)
    registration = registration_create(
        event=paid_event,
        booker_name="Boeker",
        booker_email="boeker@example.nl",
        attendees=[
            AttendeeInput(name="Een", email="een@example.nl", ticket_type_id=paid_type.pk),
            AttendeeInput(name="Twee", email="twee@example.nl", ticket_type_id=low.pk),
        ],
    )
    payment = start_checkout(registration)
    assert payment.amount_cents == 12100 + 2180
    obj = fake_stripe.complete_session(payment.stripe_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, fake_stripe.event("checkout.session.completed", obj))
    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=registration, actor="booker")

    refund = Refund.objects.get()
    assert refund.amount_cents == (6050 - 500) + (1090 - 500)
    assert set(refund.tickets.all()) == set(registration.tickets.all())
    credit = refund.credit_note
    lines = {line.vat_rate: line for line in credit.lines.all()}
    assert (lines[21].gross_cents, lines[9].gross_cents) == (-5550, -590)
    assert lines[9].net_cents == -vat_split(gross_cents=590, rate=lines[9].vat_rate)[0]
    assert credit.total_gross_cents == -refund.amount_cents


@pytest.mark.parametrize(("percent", "fee"), [(0, 0), (100, 12100), (50, 7000)])
def test_nothing_to_refund_makes_no_stripe_call_and_no_credit_note(
    fake_stripe, pay, paid_event, paid_type, django_capture_on_commit_callbacks, percent, fee
):
    set_policy(paid_event, percent=percent, fee_cents=fee)
    registration, payment = pay(paid_event, paid_type)
    ticket = registration.tickets.first()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=ticket, actor="attendee")
        hooks.on_tickets_cancelled(tickets=[ticket])  # a repeat changes nothing either

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED  # the cancellation itself went through
    assert stripe_refunds(fake_stripe) == []
    assert not Refund.objects.exists()
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
    assert not OutboxMail.objects.filter(template="payment_refunded").exists()
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_cents) == (Payment.Status.PAID, 0)


def test_a_repeated_cancellation_is_one_refund_even_after_the_policy_changed(
    fake_stripe, pay, paid_event, paid_type, django_capture_on_commit_callbacks
):
    set_policy(paid_event, percent=50)
    registration, payment = pay(paid_event, paid_type)
    ticket = registration.tickets.first()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=ticket, actor="attendee")
    set_policy(paid_event, percent=100)  # the organiser changes the policy afterwards
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            hooks.on_tickets_cancelled(tickets=[ticket])  # a retried hook
        services.refund_send(refund_id=Refund.objects.get().pk)  # a redelivered task

    refund = Refund.objects.get()
    assert refund.amount_cents == 6050
    assert len(stripe_refunds(fake_stripe)) == 1
    assert len(fake_stripe.refunds) == 1
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1
    payment.refresh_from_db()
    assert payment.amount_refunded_cents == 6050


def test_refund_never_exceeds_what_is_left_and_the_credit_note_matches_it(
    fake_stripe, pay, paid_event, paid_type, django_capture_on_commit_callbacks
):
    set_policy(paid_event, percent=50)
    registration, payment = pay(paid_event, paid_type, count=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.refund_create(
            payment=payment,
            amount_cents=20000,
            reason=Refund.Reason.MANUAL,
            idempotency_key="manual-1",
        )
    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=registration, actor="booker")

    refund = Refund.objects.get(reason=Refund.Reason.CANCELLED)
    assert refund.amount_cents == 24200 - 20000  # the policy's 12100 is capped
    assert stripe_refunds(fake_stripe)[-1]["params"]["amount"] == "4200"
    assert refund.credit_note.total_gross_cents == -4200
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_cents) == (Payment.Status.REFUNDED, 24200)


def test_a_cancelled_event_refunds_in_full_whatever_the_policy(
    fake_stripe, pay, paid_event, paid_type, django_capture_on_commit_callbacks
):
    set_policy(paid_event, percent=0, fee_cents=500)
    registration, payment = pay(paid_event, paid_type, count=1)
    Event.objects.filter(pk=paid_event.pk).update(status=Event.Status.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=registration, actor="organiser")
    assert Refund.objects.get().amount_cents == 12100
    assert Refund.objects.get().credit_note.total_gross_cents == -12100


def test_a_ticket_the_organiser_cancels_refunds_in_full_whatever_the_policy(
    fake_stripe, pay, paid_event, paid_type, django_capture_on_commit_callbacks
):
    """The booker did not choose to cancel: the policy (here: nothing back) is theirs."""
    set_policy(paid_event, percent=0, fee_cents=500)
    registration, payment = pay(paid_event, paid_type)
    first, second = registration.tickets.order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=first, actor="organiser")
        ticket_cancel(ticket=second, actor="attendee")
    (refund,) = Refund.objects.all()
    assert refund.amount_cents == 12100
    assert refund.idempotency_key == f"refund-{payment.pk}-tickets-{first.pk}"
    assert refund.credit_note.total_gross_cents == -12100


def test_invoice_booking_is_still_credited_in_full(fake_stripe, paid_event, paid_type):
    """Nothing was paid online: the credit note cancels what is owed, the policy is about
    money going back."""
    set_policy(paid_event, percent=50, fee_cents=500)
    registration = book_by_invoice(paid_event, paid_type, n=5, count=1)
    registration_cancel(registration=registration, actor="booker")
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit.total_gross_cents == -12100
    assert not Refund.objects.exists() and stripe_refunds(fake_stripe) == []


# --- What the booker is told ------------------------------------------------------------------


def test_cancel_page_states_the_refund_under_the_policy(client, pay, paid_event, paid_type):
    set_policy(paid_event, percent=50, fee_cents=500)
    registration, _payment = pay(paid_event, paid_type, count=2)
    token = booking_token(registration)
    page = client.get(reverse("participants:booking_cancel", kwargs={"token": token}))
    text = page.content.decode().replace("\xa0", " ")
    assert page.status_code == 200
    assert (
        "Volgens de annuleringsvoorwaarden van dit evenement wordt € 111,00 van de betaalde "
        "€ 242,00 terugbetaald." in text
    )
    assert "50% van de ticketprijs terugbetaald, min € 5,00 annuleringskosten per ticket" in text

    # One ticket from the attendee's own link.
    ticket = registration.tickets.first()
    page = client.get(reverse("participants:ticket_cancel", kwargs={"token": ticket_token(ticket)}))
    assert "€ 55,50 van de betaalde € 121,00" in page.content.decode().replace("\xa0", " ")


def test_cancel_page_says_when_nothing_is_refunded(client, pay, paid_event, paid_type):
    set_policy(paid_event, percent=0)
    registration, _payment = pay(paid_event, paid_type, count=1)
    token = booking_token(registration)
    page = client.get(reverse("participants:booking_cancel", kwargs={"token": token}))
    text = page.content.decode().replace("\xa0", " ")
    assert "wordt de betaalde € 121,00 niet terugbetaald" in text
    assert "Geannuleerde tickets worden niet terugbetaald." in text


def test_cancel_page_is_unchanged_for_a_full_refund_and_for_invoice_bookings(
    client, pay, paid_event, paid_type
):
    registration, _payment = pay(paid_event, paid_type, count=1)
    token = booking_token(registration)
    page = client.get(reverse("participants:booking_cancel", kwargs={"token": token}))
    assert 'id="refund-policy"' not in page.content.decode()

    set_policy(paid_event, percent=50)
    by_invoice = book_by_invoice(paid_event, paid_type, n=6, count=1)
    token = booking_token(by_invoice)
    page = client.get(reverse("participants:booking_cancel", kwargs={"token": token}))
    assert page.status_code == 200
    assert 'id="refund-policy"' not in page.content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "wordt € 55,50 van de betaalde € 121,00 terugbetaald."),
        ("en", "€ 55.50 of the € 121.00 paid is refunded."),
    ],
)
def test_ticket_cancelled_mail_states_the_refund(
    pay, paid_event, paid_type, django_capture_on_commit_callbacks, language, expected
):
    set_policy(paid_event, percent=50, fee_cents=500)
    registration, _payment = pay(paid_event, paid_type, count=1)
    ticket = registration.tickets.first()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=ticket, actor="attendee")
    mail = OutboxMail.objects.get(key=f"ticket_cancelled:{ticket.pk}")
    mail.language = language
    message = render_mail_with_attachments(mail)
    assert expected in message.body.replace("\xa0", " ")
    (html, _mimetype) = message.alternatives[0]
    assert expected in html.replace("\xa0", " ").replace("&nbsp;", " ")
    assert "{{" not in message.body and "{%" not in message.body


def test_ticket_cancelled_mail_without_a_policy_says_nothing_about_refunds(
    pay, paid_event, paid_type, django_capture_on_commit_callbacks
):
    registration, _payment = pay(paid_event, paid_type, count=1)
    ticket = registration.tickets.first()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=ticket, actor="attendee")
    message = render_mail_with_attachments(
        OutboxMail.objects.get(key=f"ticket_cancelled:{ticket.pk}")
    )
    assert "annuleringsvoorwaarden" not in message.body


def test_event_page_shows_the_policy_only_when_it_is_not_a_full_refund(
    client, paid_event, paid_type
):
    url = reverse("events:detail", kwargs={"slug": paid_event.slug})
    assert 'id="refund-policy"' not in client.get(url).content.decode()
    set_policy(paid_event, percent=75)
    text = client.get(url).content.decode().replace("\xa0", " ")
    assert "Annuleringsvoorwaarden:" in text
    assert "Bij annulering wordt 75% van de ticketprijs terugbetaald." in text
    assert "U kunt annuleren tot" in text
    # A cancelled event refunds in full, so its page does not show the policy.
    Event.objects.filter(pk=paid_event.pk).update(status=Event.Status.CANCELLED)
    assert 'id="refund-policy"' not in client.get(url).content.decode()


def test_event_page_of_free_tickets_shows_no_refund_policy(client, paid_event):
    TicketTypeFactory(event=paid_event, name="Gratis", price_cents=0)
    set_policy(paid_event, percent=0)
    url = reverse("events:detail", kwargs={"slug": paid_event.slug})
    assert 'id="refund-policy"' not in client.get(url).content.decode()


# --- Editing the policy in the admin --------------------------------------------------------


def form_data(form) -> dict:
    """A bound-to-be form's current values as the browser would post them."""
    data = {}
    for name, field in form.fields.items():
        key, value, widget = form.add_prefix(name), form[name].value(), field.widget
        if hasattr(widget, "widgets"):  # split date/time
            for i, part in enumerate(widget.decompress(value)):
                data[f"{key}_{i}"] = "" if part is None else part
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        else:
            data[key] = "" if value is None else value
    return data


def admin_post_data(client, event: Event, **changes) -> dict:
    """The event's admin change form (with its inlines) as posted unchanged, plus `changes`."""
    page = client.get(reverse("admin:events_event_change", args=[event.pk]))
    data = form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        data.update(form_data(inline.formset.management_form))
        for form in inline.formset.initial_forms:
            data.update(form_data(form))
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"refund_percent": "101"}, "refund_percent"),
        ({"refund_percent": "-1"}, "refund_percent"),
        ({"refund_fee_cents": "-1"}, "refund_fee_cents"),
    ],
)
def test_admin_refuses_an_out_of_range_policy_with_a_field_error(
    organiser_client, paid_event, paid_type, changes, field
):
    url = reverse("admin:events_event_change", args=[paid_event.pk])
    response = organiser_client.post(url, admin_post_data(organiser_client, paid_event, **changes))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    paid_event.refresh_from_db()
    assert (paid_event.refund_percent, paid_event.refund_fee_cents) == (100, 0)


def test_admin_saves_the_policy(organiser_client, paid_event, paid_type):
    url = reverse("admin:events_event_change", args=[paid_event.pk])
    data = admin_post_data(
        organiser_client, paid_event, refund_percent="50", refund_fee_cents="250"
    )
    response = organiser_client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    paid_event.refresh_from_db()
    assert (paid_event.refund_percent, paid_event.refund_fee_cents) == (50, 250)
