"""Scoping by role: campaign managers see their campaigns only, check-in staff the check-in
pages of their events only; the helpers in common/permissions.py do the narrowing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganiserRole
from common import permissions
from participants.models import Registration
from tests.factories import (
    CampaignFactory,
    EventFactory,
    RegistrationFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    c, d = CampaignFactory(slug="c"), CampaignFactory(slug="d")
    # x is under way (its check-in window is open): check-in staff's door is event x.
    x = EventFactory(campaign=c, starts_at=timezone.now() - timedelta(hours=1))
    x2, y = EventFactory(campaign=c), EventFactory(campaign=d)
    manager = UserFactory(is_staff=True, email="manager@example.nl")
    OrganiserRole.objects.create(
        user=manager, role=OrganiserRole.Role.CAMPAIGN_MANAGER
    ).campaigns.add(c)
    door = UserFactory(is_staff=True, email="door@example.nl")
    OrganiserRole.objects.create(user=door, role=OrganiserRole.Role.CHECKIN_STAFF).events.add(x)
    admin = UserFactory(is_staff=True, is_superuser=True, email="admin@example.nl")
    bookings = {e: TicketFactory(registration=RegistrationFactory(event=e)) for e in (x, x2, y)}
    return {
        "c": c,
        "d": d,
        "x": x,
        "x2": x2,
        "y": y,
        "manager": manager,
        "door": door,
        "admin": admin,
        "tickets": bookings,
    }


def test_campaign_manager_sees_only_their_campaigns_events_and_bookings(setup):
    s = setup
    assert set(permissions.campaigns_for(s["manager"])) == {s["c"]}
    assert set(permissions.events_for(s["manager"])) == {s["x"], s["x2"]}
    bookings = permissions.scope_events(Registration.objects.all(), s["manager"], field="event")
    assert {b.event for b in bookings} == {s["x"], s["x2"]}
    # Administrators: everything; check-in staff manage nothing.
    assert permissions.events_for(s["admin"]).count() == 3
    assert permissions.events_for(s["door"]).count() == 0
    door_bookings = permissions.scope_events(Registration.objects.all(), s["door"], field="event")
    assert door_bookings.count() == 0


def test_campaign_manager_pages_for_own_campaign_only(client, setup):
    s = setup
    client.force_login(s["manager"])
    for name in (
        "payments:event_payments",
        "communications:certificate_runs",
        "participants:event_checkin",
    ):
        assert client.get(reverse(name, args=[s["x"].pk])).status_code == 200, name
        assert client.get(reverse(name, args=[s["y"].pk])).status_code in (403, 404), name
    assert client.get(reverse("backoffice:campaign_dashboard", args=[s["c"].pk])).status_code == 200
    assert client.get(reverse("backoffice:campaign_dashboard", args=[s["d"].pk])).status_code in (
        403,
        404,
    )
    # Admin-only areas stay closed.
    for name in (
        "communications:outbox_list",
        "mailings:list",
        "privacy:audit_log",
        "schools:board",
        "press:staff_moments",
    ):
        assert client.get(reverse(name)).status_code == 403, name


def test_checkin_staff_only_their_events_check_in_page(client, setup):
    s = setup
    client.force_login(s["door"])
    assert client.get(reverse("participants:event_checkin", args=[s["x"].pk])).status_code == 200
    for event in (s["x2"], s["y"]):
        assert client.get(reverse("participants:event_checkin", args=[event.pk])).status_code == 403
    ticket_x, ticket_y = s["tickets"][s["x"]], s["tickets"][s["y"]]
    ok = client.post(
        f"/api/v1/events/{s['x'].pk}/checkin/",
        {"secret": ticket_x.secret},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    refused = client.post(
        f"/api/v1/events/{s['y'].pk}/checkin/",
        {"secret": ticket_y.secret},
        content_type="application/json",
    )
    assert refused.status_code == 403
    ticket_y.refresh_from_db()
    assert ticket_y.checked_in_at is None
    # Nothing else of the organiser side.
    assert client.get(reverse("payments:event_payments", args=[s["x"].pk])).status_code == 403
    runs = reverse("communications:certificate_runs", args=[s["x"].pk])
    assert client.get(runs).status_code == 403
    assert client.get(reverse("backoffice:index")).status_code == 403


def test_removing_the_role_removes_the_access(client, setup):
    """Control: the access above comes from the role rows, not from the staff flag."""
    s = setup
    OrganiserRole.objects.filter(user=s["door"]).update(role=OrganiserRole.Role.CAMPAIGN_MANAGER)
    client.force_login(s["door"])
    assert client.get(reverse("participants:event_checkin", args=[s["x"].pk])).status_code == 403


def test_staff_without_a_role_counts_as_administrator_but_limited_roles_do_not(setup):
    legacy = UserFactory(is_staff=True, email="legacy@example.nl")
    assert permissions.user_is_organiser_admin(legacy)
    assert not permissions.user_is_organiser_admin(setup["manager"])
    assert not permissions.user_is_organiser(UserFactory(email="nobody@example.nl"))


def test_two_factor_state_of_a_user_loaded_outside_a_request(settings, setup):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    # Every organiser role must set it up; an account without a role need not.
    for role in ("admin", "manager", "door"):
        assert permissions.two_factor_state(setup[role]) == "setup", role
    assert permissions.two_factor_state(UserFactory(email="nobody@example.nl")) == "ok"
    TOTPDevice.objects.create(user=setup["manager"], name="authenticator", confirmed=True)
    assert permissions.two_factor_state(setup["manager"]) == "verify"


def test_audit_log_filters_by_any_organiser_not_only_staff_accounts(client):
    """Campaign managers and check-in staff need no staff flag, and their money actions are in
    the audit log, so the log's organiser filter offers every organiser account."""
    from privacy.models import AuditEntry

    admin = UserFactory(email="beheer@example.nl", is_staff=True, is_superuser=True)
    manager = UserFactory(email="campagne@example.nl")
    OrganiserRole.objects.create(user=manager, role=OrganiserRole.Role.CAMPAIGN_MANAGER)
    door = UserFactory(email="deur@example.nl")
    OrganiserRole.objects.create(user=door, role=OrganiserRole.Role.CHECKIN_STAFF)
    legacy = UserFactory(email="oud@example.nl", is_staff=True)
    member = UserFactory(email="lid@example.nl")
    assert set(permissions.organiser_users()) == {admin, manager, door, legacy}
    AuditEntry.objects.create(actor_id=manager.pk, action="payment.refund", object_id="1")
    AuditEntry.objects.create(actor_id=admin.pk, action="retention.policy_set", object_id="2")

    client.force_login(admin)
    url = reverse("privacy:audit_log")
    page = client.get(url)
    offered = {
        int(v) for v in page.context["form"].fields["actor"].queryset.values_list("pk", flat=True)
    }
    assert offered == {admin.pk, manager.pk, door.pk, legacy.pk} and member.pk not in offered
    filtered = client.get(url, {"actor": manager.pk})
    assert filtered.status_code == 200 and filtered.context["form"].is_valid()
    assert [e.actor_id for e in filtered.context["page"].object_list] == [manager.pk]
