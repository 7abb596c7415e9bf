"""The payment mails render in Dutch and English through the real outbox renderer, with the
invoice PDF attached (communications dispatches invoice_pdf to payments.renderers)."""

import io

import pytest
from pypdf import PdfReader

from communications.models import OutboxMail
from communications.sending import render_mail_with_attachments
from participants.services import registration_cancel
from payments import services
from payments.models import Invoice

from .conftest import book_by_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice_mails(fake_stripe, paid_event, paid_type):
    registration = book_by_invoice(paid_event, paid_type, n=1, count=2)
    invoice = Invoice.objects.get(registration=registration)
    Invoice.objects.filter(pk=invoice.pk).update(due_date=invoice.issue_date.replace(year=2000))
    services.invoice_reminders_send()
    registration_cancel(registration=registration, actor="booker")
    return registration, invoice


@pytest.mark.parametrize("language", ["nl", "en"])
def test_invoice_mails_render_with_the_pdf_attached(invoice_mails, language):
    registration, invoice = invoice_mails
    templates = {"invoice_issued", "invoice_reminder", "invoice_credit_note"}
    mails = OutboxMail.objects.filter(template__in=templates)
    assert {m.template for m in mails} == templates
    for mail in mails:
        mail.language = language
        message = render_mail_with_attachments(mail)
        assert message.subject.strip()
        assert registration.organisation.name not in message.subject
        body = message.body
        assert "{{" not in body and "{%" not in body
        (attachment,) = message.attachments
        filename, content, mimetype = attachment
        assert mimetype == "application/pdf"
        text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
        assert "2" in text
        if mail.template == "invoice_issued":
            assert invoice.number in message.subject
            expected = "Please pay it before" if language == "en" else "Betaal deze vóór"
            assert expected in body
            assert invoice.number in text
        if mail.template == "invoice_reminder":
            expected = "Reminder" if language == "en" else "Herinnering"
            assert expected in message.subject


@pytest.mark.parametrize("language", ["nl", "en"])
def test_online_payment_mails_render(client, fake_stripe, paid_event, paid_type, language):
    from .conftest import book, post_event, start_checkout

    failed = book(paid_event, paid_type, n=2)
    attempt = start_checkout(failed)
    obj = fake_stripe.complete_session(attempt.stripe_session_id, paid=False)
    post_event(client, fake_stripe.event("checkout.session.async_payment_failed", obj))

    registration = book(paid_event, paid_type, n=3)
    payment = start_checkout(registration)
    obj = fake_stripe.complete_session(payment.stripe_session_id)
    assert (
        post_event(client, fake_stripe.event("checkout.session.completed", obj)).status_code == 200
    )
    registration_cancel(registration=registration, actor="booker")

    expected = {
        "payment_failed": ("/pay/", failed),
        "payment_received": ("€", registration),
        "payment_refunded": ("€", registration),
    }
    for template, (needle, booking) in expected.items():
        mail = OutboxMail.objects.get(template=template)
        mail.language = language
        message = render_mail_with_attachments(mail)
        assert booking.code in message.body, template
        assert needle in message.body, template
        assert "{{" not in message.body
        if template != "payment_failed":
            assert [a[2] for a in message.attachments] == ["application/pdf"]
