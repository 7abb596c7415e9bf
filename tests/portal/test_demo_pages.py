"""The portal pages render for the demo organisation (realistic data from seed_demo)."""

import pytest
from django.core.management import call_command
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from events.models import Event
from tests.factories import RegistrationFactory, TicketFactory

pytestmark = pytest.mark.django_db


def test_every_portal_page_renders_for_the_demo_organisation(client):
    call_command("seed_demo", password="demo-pass-123")
    # A request for the failed-login limits (django-axes counts logins per request).
    assert client.login(
        request=HttpRequest(),
        email="hr@zorggroep-noorderlicht.example.nl",
        password="demo-pass-123",
    )
    user = User.objects.get(email="hr@zorggroep-noorderlicht.example.nl")
    membership = user.memberships.get()
    organisation = membership.organisation
    if not organisation.registrations.exists():
        # seed_demo books nothing for the portal organisation yet; add a booking on a demo event.
        event = Event.objects.filter(status=Event.Status.PUBLISHED, kind="congress").first()
        registration = RegistrationFactory(event=event, organisation=organisation)
        TicketFactory(registration=registration, ticket_type=event.ticket_types.first())
        TicketFactory(registration=registration, ticket_type=event.ticket_types.first())
    home = client.get("/nl/")
    assert reverse("organisations:portal") in home.content.decode()  # "My organisation" in nav
    pages = [
        reverse("organisations:dashboard", kwargs={"organisation_id": organisation.pk}),
        reverse("organisations:members", kwargs={"organisation_id": organisation.pk}),
        reverse("organisations:api_tokens", kwargs={"organisation_id": organisation.pk}),
    ]
    for registration in organisation.registrations.all():
        pages.append(
            reverse(
                "organisations:booking",
                kwargs={"organisation_id": organisation.pk, "registration_id": registration.pk},
            )
        )
        for ticket in registration.tickets.all():
            for name in ("ticket_change", "ticket_cancel"):
                pages.append(
                    reverse(
                        f"organisations:{name}",
                        kwargs={"organisation_id": organisation.pk, "ticket_id": ticket.pk},
                    )
                )
    assert len(pages) > 5, "the demo organisation should have bookings with tickets"
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert '<main id="main"' in html
        assert "<script" not in html and "<style" not in html  # CSP: no inline code
    assert organisation.name in client.get(pages[0]).content.decode()


def test_password_login_of_a_portal_user_lands_in_the_portal(client):
    call_command("seed_demo", password="demo-pass-123")
    response = client.post(
        "/nl/account/login/",
        {"username": "hr@zorggroep-noorderlicht.example.nl", "password": "demo-pass-123"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("organisations:portal")
