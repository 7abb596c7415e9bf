"""Data for the portal tests: two organisations, each with an admin, a member, a booking with
tickets, a campaign-week participation and an API key, so every test can check that one
organisation never reaches the other's rows."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone, translation

from api.services import api_token_create
from organisations.models import Membership, Organisation
from participants.models import Registration, Ticket
from tests.factories import (
    CampaignParticipationFactory,
    EventFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
    TicketTypeFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _dutch():
    # reverse() uses the active language; a request in English must not leak into the next test.
    with translation.override("nl"):
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    # The magic-link rate limit lives in the cache; tests must not share its counters.
    cache.clear()
    yield
    cache.clear()


@dataclass
class OrgWorld:
    organisation: Organisation
    admin: Membership
    member: Membership
    registration: Registration
    ticket: Ticket
    token_name: str


def build_org(label: str, *, event=None) -> OrgWorld:
    organisation = OrganisationFactory(name=f"Organisatie {label}")
    admin = MembershipFactory(
        organisation=organisation,
        role=Membership.Role.ADMIN,
        user=UserFactory(email=f"admin-{label.lower()}@example.nl"),
    )
    member = MembershipFactory(
        organisation=organisation, user=UserFactory(email=f"member-{label.lower()}@example.nl")
    )
    event = event or EventFactory(
        cancellation_deadline=timezone.now() + timedelta(days=10),
    )
    ticket_type = event.ticket_types.first() or TicketTypeFactory(event=event, name="Standaard")
    registration = RegistrationFactory(
        event=event,
        organisation=organisation,
        booker=PersonFactory(name=f"Boeker {label}", email=f"booker-{label.lower()}@example.nl"),
    )
    ticket = TicketFactory(
        registration=registration,
        ticket_type=ticket_type,
        person=PersonFactory(
            name=f"Deelnemer {label}",
            email=f"attendee-{label.lower()}@example.nl",
            organisation=organisation,
        ),
    )
    CampaignParticipationFactory(organisation=organisation)
    token_name = f"Sleutel {label}"
    api_token_create(organisation=organisation, name=token_name, user=admin.user)
    return OrgWorld(organisation, admin, member, registration, ticket, token_name)


@pytest.fixture
def org_a(db) -> OrgWorld:
    return build_org("A")


@pytest.fixture
def org_b(db, org_a) -> OrgWorld:
    # Same event as A: the isolation must hold per organisation, not per event.
    return build_org("B", event=org_a.registration.event)
