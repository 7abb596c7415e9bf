"""Database constraints hold even when code bypasses model validation (queryset.update / create)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from events.models import Event
from organisations.models import Membership, Organisation, Region
from participants.models import CampaignParticipation, Ticket
from tests.factories import (
    CampaignParticipationFactory,
    EventFactory,
    MembershipFactory,
    OrganisationFactory,
    TicketFactory,
    TicketTypeFactory,
)

pytestmark = pytest.mark.django_db


def assert_rejected(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_all_35_labour_market_regions_are_loaded():
    assert Region.objects.count() == 35
    assert Region.objects.filter(name="Groot Amsterdam").exists()


def test_kvk_unique_when_present_but_blank_allowed_many_times():
    OrganisationFactory(kvk_number="12345678")
    assert_rejected(lambda: OrganisationFactory(kvk_number="12345678"))
    OrganisationFactory(kvk_number="")
    OrganisationFactory(kvk_number="")
    assert Organisation.objects.filter(kvk_number="").count() == 2


@pytest.mark.parametrize("bad", ["1234567", "abcdefgh", "1234 567"])
def test_kvk_format_enforced_by_database(bad):
    org = OrganisationFactory()
    assert_rejected(lambda: Organisation.objects.filter(pk=org.pk).update(kvk_number=bad))


@pytest.mark.parametrize("bad", ["1234ab", "0123 AB", "1234 SS"])
def test_postcode_format_enforced_by_database(bad):
    org = OrganisationFactory()
    assert_rejected(lambda: Organisation.objects.filter(pk=org.pk).update(postcode=bad))


@pytest.mark.parametrize("bad", ["12ab", "AB12", "1AB", "12-A"])
def test_brin_format_enforced_by_database(bad):
    school = Organisation.objects.create(
        kind=Organisation.Kind.SCHOOL, name="School", brin_code="12AB"
    )
    assert_rejected(lambda: Organisation.objects.filter(pk=school.pk).update(brin_code=bad))


def test_canonical_values_pass_the_database_checks():
    # The constraints accept exactly what the validators produce (same regexes, both databases).
    org = OrganisationFactory(kvk_number="01234567", postcode="9725 AG")
    Organisation.objects.filter(pk=org.pk).update(postcode="1012 LG", kvk_number="87654321")


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (EventFactory, "capacity"),
        (EventFactory, "max_tickets_per_booking"),
        (TicketTypeFactory, "capacity"),
        (TicketTypeFactory, "price_cents"),
        (CampaignParticipationFactory, "employees_reached"),
    ],
)
def test_counts_and_amounts_cannot_be_negative(factory, field):
    row = factory()
    assert_rejected(lambda: type(row).objects.filter(pk=row.pk).update(**{field: -1}))


def test_school_needs_brin_and_brin_is_unique():
    assert_rejected(
        lambda: Organisation.objects.create(
            kind=Organisation.Kind.SCHOOL, name="School zonder BRIN"
        )
    )
    Organisation.objects.create(kind=Organisation.Kind.SCHOOL, name="A", brin_code="12AB")
    assert_rejected(
        lambda: Organisation.objects.create(
            kind=Organisation.Kind.SCHOOL, name="B", brin_code="12AB"
        )
    )


def test_membership_unique_per_user_and_organisation():
    membership = MembershipFactory()
    assert_rejected(
        lambda: Membership.objects.create(
            user=membership.user, organisation=membership.organisation
        )
    )


def test_event_must_end_after_it_starts():
    event = EventFactory()
    assert_rejected(lambda: Event.objects.filter(pk=event.pk).update(ends_at=event.starts_at))


def test_registration_window_must_close_after_it_opens():
    event = EventFactory()
    opens = event.starts_at - timedelta(days=10)
    assert_rejected(
        lambda: Event.objects.filter(pk=event.pk).update(
            registration_opens_at=opens, registration_closes_at=opens - timedelta(days=1)
        )
    )


def test_ticket_type_name_unique_per_event_and_vat_in_range():
    tt = TicketTypeFactory(name="Regulier")
    assert_rejected(lambda: TicketTypeFactory(event=tt.event, name="Regulier"))
    assert_rejected(lambda: TicketTypeFactory(event=tt.event, name="Duur", vat_rate="-1.00"))


def test_ticket_secret_unique_and_checkin_only_when_valid():
    ticket = TicketFactory()
    assert len(ticket.secret) >= 32
    assert_rejected(lambda: TicketFactory(secret=ticket.secret))
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CANCELLED)
    from django.utils import timezone

    assert_rejected(
        lambda: Ticket.objects.filter(pk=ticket.pk).update(checked_in_at=timezone.now())
    )


def test_one_active_participation_per_organisation_and_week():
    participation = CampaignParticipationFactory()
    assert_rejected(
        lambda: CampaignParticipationFactory(
            event=participation.event, organisation=participation.organisation
        )
    )
    CampaignParticipation.objects.filter(pk=participation.pk).update(
        status=CampaignParticipation.Status.CANCELLED
    )
    CampaignParticipationFactory(event=participation.event, organisation=participation.organisation)


@pytest.mark.parametrize("percent", [101, 150, -1])
def test_event_refund_percent_stays_between_0_and_100(percent):
    event = EventFactory()
    assert_rejected(lambda: Event.objects.filter(pk=event.pk).update(refund_percent=percent))


def test_event_refund_percent_range_is_its_own_named_constraint():
    # 101 passes the unsigned-column check; only event_refund_percent_range stops it.
    event = EventFactory()
    with pytest.raises(IntegrityError, match="event_refund_percent_range"), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(refund_percent=101)


def test_event_refund_fee_cannot_be_negative_and_the_bounds_are_accepted():
    event = EventFactory()
    assert_rejected(lambda: Event.objects.filter(pk=event.pk).update(refund_fee_cents=-1))
    Event.objects.filter(pk=event.pk).update(refund_percent=0, refund_fee_cents=0)
    Event.objects.filter(pk=event.pk).update(refund_percent=100, refund_fee_cents=10**6)
