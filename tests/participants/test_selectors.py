"""Shared reads: one definition of places taken, availability, and per-organisation isolation."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events.locking import lock_event
from events.selectors import event_list_upcoming, event_places_left
from participants import selectors, services
from tests.factories import OrganisationFactory, TicketTypeFactory, WaitingListEntryFactory

from .conftest import book


@pytest.mark.django_db
def test_availability_counts_tickets_and_open_offers(event, free_type):
    event.capacity = 5
    event.save()
    vip = TicketTypeFactory(event=event, name="VIP", capacity=2)
    book(event, free_type, n=1, count=2)
    book(event, vip, n=2)
    WaitingListEntryFactory(
        event=event,
        ticket_type=vip,
        status="offered",
        offer_expires_at=timezone.now() + timedelta(hours=1),
    )
    # An expired offer no longer holds a place; a waiting entry never did.
    WaitingListEntryFactory(
        event=event,
        ticket_type=vip,
        status="offered",
        offer_expires_at=timezone.now() - timedelta(seconds=1),
    )
    WaitingListEntryFactory(event=event, ticket_type=free_type)
    a = selectors.event_availability_get(event=event)
    assert (a.capacity, a.taken, a.places_left, a.waiting) == (5, 4, 1, 1)
    by_type = {t.ticket_type.pk: t for t in a.ticket_types}
    assert (by_type[vip.pk].taken, by_type[vip.pk].places_left) == (2, 0)
    assert by_type[vip.pk].sold_out
    assert (by_type[free_type.pk].taken, by_type[free_type.pk].places_left) == (2, 1)
    # events.selectors uses the same definition.
    assert event_places_left(event=event) == 1
    listed = {e.pk: e for e in event_list_upcoming()}
    assert (listed[event.pk].places_taken, listed[event.pk].places_left) == (4, 1)


@pytest.mark.django_db
def test_unlimited_event(event, free_type):
    event.capacity = None
    event.save()
    book(event, free_type)
    a = selectors.event_availability_get(event=event)
    assert a.places_left is None and not a.sold_out
    assert a.ticket_types[0].places_left is None


@pytest.mark.django_db
def test_waitlist_position(event, free_type):
    event.capacity = 1
    event.save()
    book(event, free_type)
    entries = [
        services.waitlist_join(
            event=event, ticket_type=free_type, name=f"W{i}", email=f"w{i}@example.nl"
        )
        for i in range(3)
    ]
    assert [selectors.waitlist_position_get(entry=e) for e in entries] == [1, 2, 3]


@pytest.mark.django_db
def test_organisation_sees_only_its_own_bookings(event, free_type):
    mine, theirs = OrganisationFactory(), OrganisationFactory()
    reg = book(event, free_type, n=1, organisation=mine, count=2)
    book(event, free_type, n=2, organisation=theirs)
    book(event, free_type, n=3)
    regs = list(selectors.registration_list_for_organisation(organisation=mine))
    assert regs == [reg] and regs[0].active_tickets == 2
    tickets = selectors.ticket_list_for_organisation(organisation=mine)
    assert {t.registration_id for t in tickets} == {reg.pk}
    assert selectors.ticket_list_for_event(event=event).count() == 4


@pytest.mark.django_db(transaction=True)
def test_lock_event_refuses_to_run_outside_a_transaction(event):
    with pytest.raises(RuntimeError):
        lock_event(event.pk)
    with transaction.atomic():
        assert lock_event(event.pk) == event


@pytest.mark.django_db
def test_per_type_count_matches_the_queryset_definitions_of_a_taken_place(event):
    """The booking path counts with one hand-written statement; the pages count with the
    querysets. Every ticket status and every offer state, on two ticket types and a second
    event: the two must agree, type by type."""
    from participants.models import Ticket, WaitingListEntry
    from tests.factories import EventFactory, RegistrationFactory, TicketFactory

    now = timezone.now()
    other_event = EventFactory()
    types = [TicketTypeFactory(event=event, name=n) for n in ("A", "B")]
    for ev, tts in ((event, types), (other_event, [TicketTypeFactory(event=other_event)])):
        registration = RegistrationFactory(event=ev)
        for i, status in enumerate(Ticket.Status.values * 2):
            TicketFactory(registration=registration, ticket_type=tts[i % len(tts)], status=status)
        # Live offers on the first type, expired ones on the last: a count that confused
        # the two would move places between the types.
        for status in WaitingListEntry.Status.values:
            for tt, expires in ((tts[0], now + timedelta(hours=1)), (tts[-1], now - timedelta(1))):
                WaitingListEntryFactory(
                    event=ev, ticket_type=tt, status=status, offer_expires_at=expires
                )
    expected: dict[int, int] = {}
    for tt in types:
        n = (
            selectors.tickets_holding_places(event_id=event.pk).filter(ticket_type=tt).count()
            + selectors.offers_holding_places(event_id=event.pk, at=now)
            .filter(ticket_type=tt)
            .count()
        )
        if n:
            expected[tt.pk] = n
    assert expected and sum(expected.values()) == selectors.places_taken(event_id=event.pk, at=now)
    assert selectors.places_taken_per_ticket_type(event_id=event.pk, at=now) == expected
