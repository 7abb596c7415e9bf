"""The audit log: what it records, what it refuses to record, the page and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from communications.models import OutboxMail
from participants.checkin import ticket_check_in
from participants.models import Registration
from privacy.models import AuditEntry
from privacy.services import audit_record
from tests.factories import (
    EventFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def all_audit_text() -> str:
    return str(list(AuditEntry.objects.values_list()))


def test_audit_record_keeps_ids_and_codes_and_drops_personal_data(organiser):
    person = PersonFactory(name="Hendrika Pietersma", email="hendrika@example.nl")
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.7")
    entry = audit_record(
        actor=organiser,
        action="test.action",
        obj=person,
        request=request,
        count=3,
        status="confirmed",
        ids=[1, 2],
        note="Hendrika Pietersma called",
        email="hendrika@example.nl",
        mixed=[1, "hendrika@example.nl"],
    )
    entry.refresh_from_db()
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.ip_address) == (
        organiser.pk,
        "participants.person",
        str(person.pk),
        "192.0.2.7",
    )
    assert entry.details == {"count": 3, "status": "confirmed", "ids": [1, 2]}
    assert "Hendrika" not in all_audit_text() and "hendrika@" not in all_audit_text()


def test_check_in_is_audited_with_the_address(organiser):
    ticket = TicketFactory(
        person=PersonFactory(name="Geert Zeldzaam", email="gz@example.nl"),
        # Under way: inside its check-in window.
        registration__event=EventFactory(starts_at=timezone.now() - timedelta(hours=1)),
    )
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.4")
    ticket_check_in(secret=ticket.secret, event=ticket.event, user=organiser, request=request)
    entry = AuditEntry.objects.get(action="ticket.check_in")
    assert entry.object_id == str(ticket.pk) and entry.ip_address == "198.51.100.4"
    assert entry.details == {"event_id": ticket.event_id}
    assert "Zeldzaam" not in all_audit_text() and "gz@" not in all_audit_text()


def test_failed_check_in_leaves_no_audit_entry(organiser):
    from common.errors import RuleViolation

    ticket = TicketFactory(
        status="cancelled",
        registration__event=EventFactory(starts_at=timezone.now() - timedelta(hours=1)),
    )
    with pytest.raises(RuleViolation):
        ticket_check_in(secret=ticket.secret, event=ticket.event, user=organiser)
    assert not AuditEntry.objects.exists()


def test_admin_approve_and_reject_actions_are_audited(organiser_client, organiser):
    registration = RegistrationFactory(
        status=Registration.Status.PENDING_APPROVAL,
        booker=PersonFactory(name="Boeker Uniek", email="boeker-uniek@example.nl"),
    )
    TicketFactory(registration=registration, status="reserved")
    other = RegistrationFactory(status=Registration.Status.PENDING_APPROVAL)
    TicketFactory(registration=other, status="reserved")
    url = reverse("admin:participants_registration_changelist")
    response = organiser_client.post(
        url, {"action": "approve_bookings", "_selected_action": [registration.pk]}
    )
    assert response.status_code == 302
    response = organiser_client.post(
        url,
        {
            "action": "reject_bookings",
            "_selected_action": [other.pk],
            "confirm_reject": "1",
            "reason": "Vol",
        },
    )
    actions = dict(AuditEntry.objects.values_list("action", "object_id"))
    assert actions == {"booking.approve": str(registration.pk), "booking.reject": str(other.pk)}
    assert set(AuditEntry.objects.values_list("actor_id", flat=True)) == {organiser.pk}
    assert "Uniek" not in all_audit_text() and "boeker-uniek" not in all_audit_text()


def test_resend_from_the_outbox_page_is_audited(organiser_client, organiser):
    mail = OutboxMail.objects.create(
        key="magic_link:1:x",
        template="magic_link",
        to_email="iemand@example.nl",
        status=OutboxMail.Status.FAILED,
        context={"login_url": "http://x/", "valid_minutes": 15},
    )
    response = organiser_client.post(reverse("communications:outbox_resend", args=[mail.pk]))
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="mail.resend")
    assert entry.object_type == "communications.outboxmail" and entry.object_id == str(mail.pk)
    assert "iemand@" not in all_audit_text()


def test_audit_page_filters_and_csv_export(organiser_client, organiser, client):
    other = UserFactory(is_staff=True)
    audit_record(actor=organiser, action="mailing.send", obj=None, recipients=5)
    audit_record(actor=other, action="privacy.erase", obj=None)
    url = reverse("privacy:audit_log")
    page = organiser_client.get(url, {"actor": other.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "privacy.erase" in html and "mailing.send" not in html.split("<table")[-1]

    bad = organiser_client.get(url, {"date_from": "2030-01-02", "date_to": "2030-01-01"})
    assert 'id="id_date_to_error"' in bad.content.decode()

    response = organiser_client.get(url, {"action": "mailing.send", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time", "actor_id", "action"]
    assert [r[2] for r in rows[1:]] == ["mailing.send"]
    assert rows[1][1] == str(organiser.pk)
    # Exporting the log is itself recorded.
    assert AuditEntry.objects.filter(action="audit.export", actor_id=organiser.pk).exists()


def test_privacy_pages_are_for_organisers_only(client):
    for name in ("privacy:audit_log", "privacy:retention", "privacy:person"):
        assert client.get(reverse(name)).status_code == 302
    client.force_login(UserFactory(is_staff=False))
    for name in ("privacy:audit_log", "privacy:retention", "privacy:person"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("privacy:person"), {"email": "x@example.nl"}).status_code == 403


def test_limited_organiser_roles_may_not_use_privacy_or_mailing_pages(client):
    """Only organiser administrators (roles, when installed): a check-in staff account is staff
    but may not see everyone's data."""
    try:
        from accounts.models import OrganiserRole
    except ImportError:
        pytest.skip("organiser roles not installed")
    user = UserFactory(is_staff=True)
    OrganiserRole.objects.create(user=user, role="checkin_staff")
    client.force_login(user)
    for name in ("privacy:audit_log", "privacy:retention", "privacy:person", "mailings:list"):
        assert client.get(reverse(name)).status_code == 403, name
