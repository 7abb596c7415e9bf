"""Who may use the organiser's payment pages (event payments, refund, mark invoice paid,
invoice PDF): organiser roles from common/permissions.py, never the staff flag.

Administrators: every event. Campaign managers: the events of their campaigns, refunds and
marking invoices paid included (docs/permissions.md). Check-in staff and everyone else: 403;
anonymous: the login page. Another campaign's event, payment or invoice is a 404."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import OrganiserRole
from participants.models import Registration
from payments.models import Invoice, Payment, Refund
from privacy.models import AuditEntry
from tests.factories import CampaignFactory, EventFactory, TicketTypeFactory, UserFactory

from .conftest import book, book_by_invoice, post_event, start_checkout

pytestmark = pytest.mark.django_db


def _paid_booking(client, fake_stripe, event, ticket_type, n, capture):
    registration = book(event, ticket_type, n=n)
    payment = start_checkout(registration)
    obj = fake_stripe.complete_session(payment.stripe_session_id)
    with capture(execute=True):
        response = post_event(client, fake_stripe.event("checkout.session.completed", obj))
    assert response.status_code == 200
    registration.refresh_from_db()
    payment.refresh_from_db()
    assert registration.status == Registration.Status.CONFIRMED
    assert payment.status == Payment.Status.PAID
    return registration, payment


@pytest.fixture
def campaigns(fake_stripe, django_capture_on_commit_callbacks):
    """Campaigns A and B, each with one event that has a paid online booking and an open
    invoice booking."""
    world = {}
    webhook_client = Client()
    for n, key in enumerate(("a", "b"), start=1):
        campaign = CampaignFactory(slug=f"campagne-{key}", name=f"Campagne {key.upper()}")
        event = EventFactory(campaign=campaign, capacity=20, payment_hold_minutes=20)
        ticket_type = TicketTypeFactory(event=event, name="Congres", price_cents=12100)
        registration, payment = _paid_booking(
            webhook_client,
            fake_stripe,
            event,
            ticket_type,
            n * 10,
            django_capture_on_commit_callbacks,
        )
        invoice_booking = book_by_invoice(event, ticket_type, n=n * 10 + 1)
        world[key] = {
            "campaign": campaign,
            "event": event,
            "registration": registration,
            "payment": payment,
            "invoice": Invoice.objects.get(registration=invoice_booking),
        }
    return world


def _user(email, *, role=None, campaigns=(), events=(), is_staff=False, is_superuser=False):
    user = UserFactory(email=email, is_staff=is_staff, is_superuser=is_superuser)
    if role:
        row = OrganiserRole.objects.create(user=user, role=role)
        row.campaigns.add(*campaigns)
        row.events.add(*events)
    return user


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _urls(side) -> dict[str, str]:
    return {
        "event_payments": reverse("payments:event_payments", args=[side["event"].pk]),
        "payment_refund": reverse("payments:payment_refund", args=[side["payment"].pk]),
        "invoice_mark_paid": reverse("payments:invoice_mark_paid", args=[side["invoice"].pk]),
        "invoice_pdf": reverse("payments:invoice_pdf", args=[side["invoice"].pk]),
    }


def _attempt_everything(client, side) -> dict[str, int]:
    """Every organiser payment action on one side's objects; the statuses by page."""
    urls = _urls(side)
    return {
        "event_payments": client.get(urls["event_payments"]).status_code,
        "payment_refund GET": client.get(urls["payment_refund"]).status_code,
        "payment_refund POST": client.post(
            urls["payment_refund"], {"amount": "10,00", "request_key": "attempt"}
        ).status_code,
        "invoice_mark_paid": client.post(urls["invoice_mark_paid"]).status_code,
        "invoice_pdf": client.get(urls["invoice_pdf"]).status_code,
    }


def _assert_untouched(fake_stripe, side):
    assert not Refund.objects.filter(payment=side["payment"]).exists()
    assert not [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    side["invoice"].refresh_from_db()
    assert side["invoice"].status == Invoice.Status.OPEN
    side["payment"].refresh_from_db()
    assert side["payment"].amount_refunded_cents == 0


def test_campaign_manager_without_the_staff_flag_runs_their_campaigns_payments(
    campaigns, fake_stripe, django_capture_on_commit_callbacks
):
    a = campaigns["a"]
    manager = _user("manager-a@example.nl", role="campaign_manager", campaigns=[a["campaign"]])
    assert not manager.is_staff
    client = _client(manager)
    urls = _urls(a)

    page = client.get(urls["event_payments"])
    assert page.status_code == 200
    assert a["registration"].code in page.content.decode()
    assert a["invoice"].number in page.content.decode()
    assert client.get(urls["payment_refund"]).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        refunded = client.post(urls["payment_refund"], {"amount": "21,00", "request_key": "k1"})
    assert refunded.status_code == 302
    refund = Refund.objects.get(payment=a["payment"])
    assert (refund.amount_cents, refund.reason) == (2100, Refund.Reason.MANUAL)
    assert len([r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]) == 1
    # A money action by a limited role is on record with who did it.
    entry = AuditEntry.objects.get(action="payment.refund", object_id=str(refund.pk))
    assert entry.actor_id == manager.pk

    assert client.post(urls["invoice_mark_paid"]).status_code == 302
    a["invoice"].refresh_from_db()
    assert a["invoice"].status == Invoice.Status.PAID
    pdf = client.get(urls["invoice_pdf"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("is_staff", [False, True], ids=["no-staff-flag", "staff-flag"])
def test_campaign_manager_of_a_cannot_see_or_refund_campaign_bs_payments(
    campaigns, fake_stripe, is_staff
):
    """The staff flag does not widen a limited role: B stays out of reach either way."""
    a, b = campaigns["a"], campaigns["b"]
    manager = _user(
        "manager-a@example.nl",
        role="campaign_manager",
        campaigns=[a["campaign"]],
        is_staff=is_staff,
    )
    client = _client(manager)

    statuses = _attempt_everything(client, b)
    assert statuses == dict.fromkeys(statuses, 404), statuses
    _assert_untouched(fake_stripe, b)
    # Their own event's page lists nothing of B.
    body = client.get(_urls(a)["event_payments"]).content.decode()
    assert b["registration"].code not in body and b["invoice"].number not in body


def test_manager_of_both_campaigns_reaches_both(campaigns):
    a, b = campaigns["a"], campaigns["b"]
    manager = _user(
        "manager-ab@example.nl",
        role="campaign_manager",
        campaigns=[a["campaign"], b["campaign"]],
    )
    client = _client(manager)
    for side in (a, b):
        assert client.get(_urls(side)["event_payments"]).status_code == 200


@pytest.mark.parametrize("is_staff", [False, True], ids=["no-staff-flag", "staff-flag"])
def test_checkin_staff_get_no_payment_pages_not_even_for_their_event(
    campaigns, fake_stripe, is_staff
):
    a = campaigns["a"]
    door = _user("door-a@example.nl", role="checkin_staff", events=[a["event"]], is_staff=is_staff)
    client = _client(door)
    statuses = _attempt_everything(client, a)
    assert statuses == dict.fromkeys(statuses, 403), statuses
    _assert_untouched(fake_stripe, a)


@pytest.mark.parametrize("is_staff", [False, True], ids=["no-staff-flag", "staff-flag"])
def test_campaign_manager_role_without_campaigns_reaches_nothing(campaigns, fake_stripe, is_staff):
    manager = _user("manager-none@example.nl", role="campaign_manager", is_staff=is_staff)
    client = _client(manager)
    for side in campaigns.values():
        statuses = _attempt_everything(client, side)
        assert statuses == dict.fromkeys(statuses, 404), statuses
        _assert_untouched(fake_stripe, side)


def test_logged_in_non_organisers_get_403_and_anonymous_the_login_page(campaigns, fake_stripe):
    a = campaigns["a"]
    outsider = _client(_user("hr@example.nl"))
    statuses = _attempt_everything(outsider, a)
    assert statuses == dict.fromkeys(statuses, 403), statuses

    anonymous = Client()
    for name, url in _urls(a).items():
        method = anonymous.post if name == "invoice_mark_paid" else anonymous.get
        response = method(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:login")), name
    refund_post = anonymous.post(_urls(a)["payment_refund"], {"amount": "1,00", "request_key": "x"})
    assert refund_post.status_code == 302
    _assert_untouched(fake_stripe, a)


@pytest.mark.parametrize("kind", ["admin_role", "superuser", "legacy_staff"], ids=lambda kind: kind)
def test_administrators_reach_every_campaigns_payments(campaigns, kind):
    user = {
        "admin_role": lambda: _user("admin@example.nl", role="admin"),
        "superuser": lambda: _user("root@example.nl", is_staff=True, is_superuser=True),
        # A staff account without any role row is an administrator (compatibility).
        "legacy_staff": lambda: _user("legacy@example.nl", is_staff=True),
    }[kind]()
    client = _client(user)
    for side in campaigns.values():
        urls = _urls(side)
        assert client.get(urls["event_payments"]).status_code == 200
        assert client.get(urls["payment_refund"]).status_code == 200
        assert client.get(urls["invoice_pdf"]).status_code == 200


def test_ids_past_bigint_are_not_found(campaigns):
    client = _client(_user("admin@example.nl", role="admin"))
    huge = 2**70
    for name in ("event_payments", "payment_refund", "invoice_pdf"):
        url = reverse(f"payments:{name}", args=[huge])
        assert client.get(url).status_code == 404, name
    assert client.post(reverse("payments:invoice_mark_paid", args=[huge])).status_code == 404


# --- The permission matrix's world and policy, for the payment pages, without staff flags ------


def _world_with_event_y_money():
    """tests/permissions' world (its campaign manager and check-in staff carry the staff flag
    there) with the flags removed, plus a payment and an invoice of event Y (campaign D)."""
    from datetime import date

    from tests.permissions.world import build_world

    world = build_world()
    o = world.objects
    for role in ("manager_c", "checkin_x"):
        user = world.users[role]
        user.is_staff = False
        user.save(update_fields=["is_staff"])
    o["payment_y"] = Payment.objects.create(
        registration=o["reg_y"],
        stripe_session_id="cs_test_matrix_y",
        amount_cents=12100,
        status=Payment.Status.PAID,
    )
    invoice = Invoice.objects.get(pk=o["invoice"].pk)
    invoice.pk = None
    invoice.registration = o["reg_y"]
    invoice.number, invoice.key, invoice.sequence = "WS2030-00002", "matrix-y", 2
    invoice.issue_date = date(2030, 1, 3)
    invoice.save()
    o["invoice_y"] = invoice
    return world


def test_payment_pages_follow_the_policy_for_every_role_without_staff_flags(settings):
    """Every payments:* organiser route of tests/permissions/policy.py, for every role of the
    matrix: the declared roles on event X's objects, administrators only on event Y's."""
    from tests.permissions.policy import ADMIN, POLICY, SAME, expected_allowed, kwargs_for
    from tests.permissions.test_matrix import all_patterns, refused
    from tests.permissions.world import ROLES, client_for

    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    settings.RATELIMIT_ENABLED = False
    world = _world_with_event_y_money()
    o = world.objects
    routes = {
        name: route
        for name, route in all_patterns()
        if name and name.startswith("payments:") and POLICY[name].allowed is not SAME
    }
    assert set(routes) == {
        "payments:event_payments",
        "payments:payment_refund",
        "payments:invoice_mark_paid",
        "payments:invoice_pdf",
    }
    event_y_ids = {
        "event_id": o["event_y"].pk,
        "payment_id": o["payment_y"].pk,
        "invoice_id": o["invoice_y"].pk,
    }
    sides = {"X": {}, "Y": event_y_ids}
    problems = []
    for role in ROLES:
        client = client_for(world, role)
        for name, route in routes.items():
            policy = POLICY[name]
            for side, overrides in sides.items():
                values = {**kwargs_for(name, world), **overrides}
                path = "/" + route
                for key, value in values.items():
                    path = path.replace(f"<int:{key}>", str(value))
                assert "<" not in path, path
                for method in policy.methods:
                    response = client.get(path) if method == "GET" else client.post(path, {})
                    allowed = expected_allowed(policy, role, method)
                    if side == "Y":
                        allowed = allowed and role in ADMIN
                    if response.status_code >= 500:
                        problems.append(f"{role} {method} {path}: {response.status_code}")
                    elif allowed == refused(response):
                        expected = "allowed" if allowed else "refused"
                        problems.append(
                            f"{role} {method} {path} ({name}, event {side}): "
                            f"{response.status_code}, expected {expected}"
                        )
    assert not problems, "\n".join(problems)
    # The empty POSTs of the allowed roles to the refund form were form errors (400).
    assert not Refund.objects.exists()
