"""Marking an invoice paid is on record in the audit log, like a manual refund: who (user id),
which invoice, from which address, with ids and amounts only; once per change."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import OrganiserRole
from participants.services import registration_cancel
from payments.models import Invoice
from privacy.models import AuditEntry
from tests.factories import UserFactory

from .conftest import book_by_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(paid_event):
    """A campaign manager of the event's campaign, without the staff flag."""
    user = UserFactory(email="manager@ministerie.example.nl", is_staff=False)
    OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.CAMPAIGN_MANAGER).campaigns.add(
        paid_event.campaign
    )
    return user


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_marking_an_invoice_paid_is_audited_once_with_ids_only(paid_event, paid_type, manager):
    registration = book_by_invoice(paid_event, paid_type, n=5)
    invoice = Invoice.objects.get(registration=registration, kind=Invoice.Kind.INVOICE)
    url = reverse("payments:invoice_mark_paid", args=[invoice.pk])
    client = _client(manager)
    assert not AuditEntry.objects.filter(action="invoice.mark_paid").exists()

    assert client.post(url).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    entry = AuditEntry.objects.get(action="invoice.mark_paid")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        manager.pk,
        "payments.invoice",
        str(invoice.pk),
    )
    assert entry.ip_address == "127.0.0.1"
    assert entry.details == {
        "registration_id": registration.pk,
        "total_gross_cents": invoice.total_gross_cents,
    }
    stored = json.dumps(entry.details)
    for personal in (invoice.buyer_name, invoice.buyer_email, registration.booker.email):
        assert personal not in stored

    # Marking it again changes nothing and is not recorded again.
    assert client.post(url).status_code == 302
    assert AuditEntry.objects.filter(action="invoice.mark_paid").count() == 1


def test_a_refused_mark_paid_writes_no_audit_entry(paid_event, paid_type, manager):
    registration = book_by_invoice(paid_event, paid_type, n=6)
    registration_cancel(registration=registration, actor="booker")
    credited = Invoice.objects.get(registration=registration, kind=Invoice.Kind.INVOICE)
    credit_note = Invoice.objects.get(registration=registration, kind=Invoice.Kind.CREDIT_NOTE)
    assert credited.status == Invoice.Status.CREDITED
    client = _client(manager)

    for invoice in (credited, credit_note):
        assert client.post(
            reverse("payments:invoice_mark_paid", args=[invoice.pk])
        ).status_code == (302)
        invoice.refresh_from_db()
        assert invoice.status != Invoice.Status.PAID
    assert not AuditEntry.objects.filter(action="invoice.mark_paid").exists()


def test_the_django_admin_action_records_the_administrator(paid_event, paid_type):
    registration = book_by_invoice(paid_event, paid_type, n=7)
    invoice = Invoice.objects.get(registration=registration, kind=Invoice.Kind.INVOICE)
    admin = UserFactory(email="beheer@ministerie.example.nl", is_staff=True, is_superuser=True)

    response = _client(admin).post(
        reverse("admin:payments_invoice_changelist"),
        {"action": "mark_paid", "_selected_action": [invoice.pk]},
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    entry = AuditEntry.objects.get(action="invoice.mark_paid")
    assert (entry.actor_id, entry.object_id) == (admin.pk, str(invoice.pk))
