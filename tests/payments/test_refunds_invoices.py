"""Refunds on cancellation, credit notes, pay-by-invoice, reminders and the invoice PDF."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from communications.models import OutboxMail
from participants.models import Registration
from participants.services import registration_cancel, ticket_cancel
from payments import hooks, services
from payments.models import Invoice, Payment, Refund
from payments.renderers import render_invoice_pdf

from .conftest import book, book_by_invoice, post_event, start_checkout

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def paid_booking(client, fake_stripe, paid_event, paid_type, django_capture_on_commit_callbacks):
    registration = book(paid_event, paid_type, count=2)
    payment = start_checkout(registration)
    obj = fake_stripe.complete_session(payment.stripe_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            post_event(client, fake_stripe.event("checkout.session.completed", obj)).status_code
            == 200
        )
    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    return registration, payment


def test_cancelling_a_paid_ticket_refunds_it_once_with_a_credit_note(
    fake_stripe, paid_booking, django_capture_on_commit_callbacks
):
    registration, payment = paid_booking
    ticket = registration.tickets.first()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=ticket, actor="attendee")
    # The same tickets reported twice (a retried hook) is still one refund.
    with django_capture_on_commit_callbacks(execute=True):
        hooks.on_tickets_cancelled(tickets=[ticket])

    refund = Refund.objects.get()
    assert (refund.amount_cents, refund.reason) == (12100, Refund.Reason.CANCELLED)
    assert refund.status == Refund.Status.SUCCEEDED
    assert list(refund.tickets.all()) == [ticket]
    sent = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    assert len(sent) == 1
    assert sent[0]["idempotency_key"] == refund.idempotency_key
    assert sent[0]["params"]["amount"] == "12100"
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded_cents) == (
        Payment.Status.PARTIALLY_REFUNDED,
        12100,
    )

    credit = refund.credit_note
    original = Invoice.objects.get(registration=registration, kind=Invoice.Kind.INVOICE)
    assert credit.kind == Invoice.Kind.CREDIT_NOTE and credit.original == original
    assert (credit.total_gross_cents, credit.total_net_cents, credit.total_vat_cents) == (
        -12100,
        -10000,
        -2100,
    )
    assert credit.sequence == original.sequence + 1  # one gap-free series
    text = pdf_text(render_invoice_pdf(credit.pk))
    assert "Creditnota" in text
    assert original.number in text
    mail = OutboxMail.objects.get(key=f"payment_refunded:{refund.pk}")
    assert mail.attachments == [{"type": "invoice_pdf", "invoice_id": credit.pk}]


def test_cancelling_the_whole_booking_refunds_everything(
    fake_stripe, paid_booking, django_capture_on_commit_callbacks
):
    registration, payment = paid_booking
    with django_capture_on_commit_callbacks(execute=True):
        registration_cancel(registration=registration, actor="booker")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.amount_refunded_cents == 24200
    assert Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).count() == 1


def test_paid_invoice_pdf_meets_the_dutch_invoice_rules(paid_booking, settings):
    registration, _payment = paid_booking
    invoice = Invoice.objects.get(registration=registration)
    assert invoice.number == f"{invoice.year}-{invoice.sequence:06d}"
    text = pdf_text(render_invoice_pdf(invoice.pk))
    for expected in (
        f"Factuur {invoice.number}",
        invoice.issue_date.strftime("%d-%m-%Y"),
        settings.INVOICE_SELLER_NAME,
        settings.INVOICE_SELLER_KVK,
        settings.INVOICE_SELLER_VAT_NUMBER,
        registration.booker.name,
        "€ 100,00",  # unit price excl. VAT (a Dutch invoice requirement)
        "€ 121,00",  # unit price incl. VAT, as the ticket was sold
        "€ 200,00",  # total excl. VAT
        "€ 42,00",  # VAT
        "€ 242,00",  # total incl. VAT
        "21%",
        "Online betaald",
    ):
        assert expected in text.replace("\xa0", " "), expected


def test_invoice_booking_is_confirmed_with_an_open_invoice_mailed_as_pdf(
    fake_stripe, paid_event, paid_type
):
    registration = book_by_invoice(paid_event, paid_type, n=1, count=3)
    assert registration.status == Registration.Status.CONFIRMED
    invoice = Invoice.objects.get(registration=registration)
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.buyer_name == registration.organisation.name
    assert invoice.buyer_vat_number == registration.organisation.vat_number
    assert invoice.due_date == invoice.issue_date + timedelta(days=30)
    assert invoice.total_gross_cents == 36300
    mail = OutboxMail.objects.get(key=f"invoice_issued:{invoice.pk}")
    assert mail.attachments == [{"type": "invoice_pdf", "invoice_id": invoice.pk}]
    assert not fake_stripe.requests  # nothing to pay online
    text = pdf_text(render_invoice_pdf(invoice.pk)).replace("\xa0", " ")
    assert registration.organisation.vat_number in text
    assert "€ 63,00" in text and "€ 363,00" in text
    assert "NL91ABNA0417164300" in text  # how to pay


def test_cancelling_an_invoice_booking_credits_it(fake_stripe, paid_event, paid_type):
    registration = book_by_invoice(paid_event, paid_type, n=2, count=1)
    registration_cancel(registration=registration, actor="booker")
    original = Invoice.objects.get(registration=registration, kind=Invoice.Kind.INVOICE)
    credit = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit.original == original and credit.total_gross_cents == -12100
    original.refresh_from_db()
    assert original.status == Invoice.Status.CREDITED  # nothing left to pay
    assert OutboxMail.objects.filter(key=f"invoice_credit_note:{credit.pk}").exists()
    assert not Refund.objects.exists()


def test_organiser_marks_an_invoice_paid_and_overdue_invoices_are_reminded_once(
    fake_stripe, paid_event, paid_type, organiser_client
):
    unpaid = Invoice.objects.get(registration=book_by_invoice(paid_event, paid_type, n=3))
    paid = Invoice.objects.get(registration=book_by_invoice(paid_event, paid_type, n=4))
    Invoice.objects.filter(pk__in=[unpaid.pk, paid.pk]).update(
        due_date=timezone.localdate() - timedelta(days=1)
    )
    response = organiser_client.post(reverse("payments:invoice_mark_paid", args=[paid.pk]))
    assert response.status_code == 302
    paid.refresh_from_db()
    assert paid.status == Invoice.Status.PAID and paid.paid_at

    assert services.invoice_reminders_send() == 1
    assert services.invoice_reminders_send() == 0  # not again within the interval
    later = timezone.now() + timedelta(days=8)
    assert services.invoice_reminders_send(now=later) == 1
    keys = set(OutboxMail.objects.filter(template="invoice_reminder").values_list("key", flat=True))
    assert keys == {f"invoice_reminder:{unpaid.pk}:1", f"invoice_reminder:{unpaid.pk}:2"}

    # The organiser's page shows which unpaid invoice is overdue and how often it was chased.
    with translation.override("en"):
        page = organiser_client.get(reverse("payments:event_payments", args=[paid_event.pk]))
    body = page.content.decode()

    def row(invoice):
        start = body.index(f">{invoice.number}</a>")
        return body[start : body.index("</tr>", start)]

    assert "Unpaid" in row(unpaid) and "overdue, reminders sent: 2" in row(unpaid)
    assert "overdue" not in row(paid)


def test_organiser_refund_page_double_submit_is_one_refund(
    fake_stripe, paid_booking, organiser_client, django_capture_on_commit_callbacks
):
    _registration, payment = paid_booking
    url = reverse("payments:payment_refund", args=[payment.pk])
    assert organiser_client.get(url).status_code == 200
    data = {"amount": "50,00", "request_key": "form-123"}
    with django_capture_on_commit_callbacks(execute=True):
        first = organiser_client.post(url, data)
        second = organiser_client.post(url, data)
    assert first.status_code == second.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount_cents, refund.reason) == (5000, Refund.Reason.MANUAL)
    assert len([r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]) == 1


def test_organiser_refund_above_the_paid_amount_is_a_field_error(
    fake_stripe, paid_booking, organiser_client
):
    _registration, payment = paid_booking
    url = reverse("payments:payment_refund", args=[payment.pk])
    response = organiser_client.post(url, {"amount": "999,00", "request_key": "k"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'aria-describedby="amount-errors"' in body
    assert "Het bedrag moet tussen" in body
    bad = organiser_client.post(url, {"amount": "veel", "request_key": "k"})
    assert bad.status_code == 400
    assert not Refund.objects.exists()


def test_organiser_page_shows_totals_and_is_for_organisers_only(
    fake_stripe, paid_booking, organiser_client
):
    from django.test import Client

    from tests.factories import UserFactory

    client = Client()  # organiser_client is the logged-in default client
    outsider = Client()
    outsider.force_login(UserFactory(email="hr@example.nl"))
    registration, _payment = paid_booking
    url = reverse("payments:event_payments", args=[registration.event_id])
    response = organiser_client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert registration.code in body and "€\xa0242,00" in body
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert outsider.get(url).status_code == 403  # logged in without an organiser role
    refund_url = reverse("payments:payment_refund", args=[_payment.pk])
    assert outsider.post(refund_url, {"amount": "1,00", "request_key": "x"}).status_code == 403
    assert not Refund.objects.exists()
    invoice = Invoice.objects.get(registration=registration)
    assert client.get(reverse("payments:invoice_pdf", args=[invoice.pk])).status_code == 302
    pdf = organiser_client.get(reverse("payments:invoice_pdf", args=[invoice.pk]))
    assert pdf["Content-Type"] == "application/pdf"


def test_booker_gets_only_their_own_invoice(
    client, fake_stripe, paid_booking, paid_event, paid_type
):
    from participants.links import booking_token

    registration, _payment = paid_booking
    other = book_by_invoice(paid_event, paid_type, n=5)
    own = Invoice.objects.get(registration=registration)
    foreign = Invoice.objects.get(registration=other)
    token = booking_token(registration)
    ok = client.get(reverse("payments:booking_invoice_pdf", args=[token, own.pk]))
    assert ok.status_code == 200 and ok.content.startswith(b"%PDF")
    assert (
        client.get(reverse("payments:booking_invoice_pdf", args=[token, foreign.pk])).status_code
        == 404
    )


def test_refund_sent_twice_is_one_refund_at_stripe(fake_stripe, paid_booking, monkeypatch):
    """A redelivered task, or one whose result was lost before we saved it, reuses the
    Idempotency-Key: Stripe replays the first refund instead of paying out twice."""
    _registration, payment = paid_booking
    monkeypatch.setattr(services, "_queue_refund_send", lambda refund_id: None)  # broker down
    refund = services.refund_create(
        payment=payment, amount_cents=1000, reason=Refund.Reason.MANUAL, idempotency_key="r-1"
    )
    assert refund.status == Refund.Status.PENDING and not fake_stripe.refunds

    assert services.refund_send(refund_id=refund.pk) == Refund.Status.SUCCEEDED
    refund.refresh_from_db()
    first_id = refund.stripe_refund_id
    assert services.refund_send(refund_id=refund.pk) == Refund.Status.SUCCEEDED  # no-op
    # Our write got lost after Stripe made the refund: sending again gets the same refund.
    Refund.objects.filter(pk=refund.pk).update(stripe_refund_id=None, status="pending")
    services.refund_send(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.stripe_refund_id == first_id
    assert len(fake_stripe.refunds) == 1
    payment.refresh_from_db()
    assert payment.amount_refunded_cents == 1000


def test_pending_refunds_are_swept_after_a_broker_outage(
    fake_stripe, paid_booking, monkeypatch, django_capture_on_commit_callbacks
):
    _registration, payment = paid_booking
    real_queue = services._queue_refund_send
    monkeypatch.setattr(services, "_queue_refund_send", lambda refund_id: None)
    refund = services.refund_create(
        payment=payment, amount_cents=2000, reason=Refund.Reason.MANUAL, idempotency_key="r-2"
    )
    monkeypatch.setattr(services, "_queue_refund_send", real_queue)
    assert services.refunds_retry_pending() == 0  # too fresh: its task may still be queued
    Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - timedelta(minutes=6))
    assert services.refunds_retry_pending() == 1
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.stripe_refund_id


def test_refund_more_than_paid_is_refused_and_changes_nothing(fake_stripe, paid_booking):
    from common.errors import RuleViolation

    _registration, payment = paid_booking
    with pytest.raises(RuleViolation) as exc:
        services.refund_create(
            payment=payment, amount_cents=24201, reason=Refund.Reason.MANUAL, idempotency_key="x"
        )
    assert exc.value.code == "invalid_amount" and exc.value.field == "amount"
    assert not Refund.objects.exists()
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
