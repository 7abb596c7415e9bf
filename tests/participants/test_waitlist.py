"""Waiting list: freed places go to the first people waiting, offers hold places and expire."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from common.errors import RuleViolation
from communications.models import OutboxMail
from events.models import Event
from participants import links, selectors, services
from participants.models import Registration, Ticket, WaitingListEntry

from .conftest import book

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_event(event, free_type):
    event.capacity = 2
    event.save()
    regs = [book(event, free_type, n=i) for i in range(2)]
    return event, free_type, regs


def join(event, tt, n):
    return services.waitlist_join(
        event=event, ticket_type=tt, name=f"Wachter {n}", email=f"wachter{n}@example.nl"
    )


def status_of(*entries):
    return [WaitingListEntry.objects.get(pk=e.pk).status for e in entries]


def test_join_mails_and_rejects_duplicates(full_event):
    event, tt, _ = full_event
    entry = join(event, tt, 1)
    assert entry.status == WaitingListEntry.Status.WAITING
    assert OutboxMail.objects.get(key=f"waitlist_joined:{entry.pk}").context == {
        "entry_id": entry.pk
    }
    with pytest.raises(RuleViolation) as info:
        services.waitlist_join(event=event, ticket_type=tt, name="X", email="WACHTER1@example.nl")
    assert info.value.code == "duplicate_email"
    assert selectors.event_availability_get(event=event).waiting == 1


def test_cancel_offers_place_to_first_waiting(full_event):
    event, tt, regs = full_event
    first, second = join(event, tt, 1), join(event, tt, 2)
    services.registration_cancel(registration=regs[0])
    assert status_of(first, second) == ["offered", "waiting"]
    first.refresh_from_db()
    assert first.offer_expires_at > timezone.now() + timedelta(hours=47)
    assert OutboxMail.objects.filter(key=f"waitlist_offer:{first.pk}:1").exists()
    # The offered place is held: nobody else can book it.
    with pytest.raises(RuleViolation) as info:
        book(event, tt, n=9)
    assert info.value.code == "sold_out"
    availability = selectors.event_availability_get(event=event)
    assert availability.places_left == 0 and availability.waiting == 1


def test_accept_offer_via_token_books_the_held_place(full_event):
    event, tt, regs = full_event
    entry = join(event, tt, 1)
    services.registration_cancel(registration=regs[0])
    entry.refresh_from_db()
    token = links.waitlist_offer_token(entry)
    reg = services.waitlist_accept(entry=links.waitlist_entry_from_token(token))
    assert reg.status == Registration.Status.CONFIRMED
    ticket = reg.tickets.get()
    assert ticket.person.email == "wachter1@example.nl"
    assert ticket.status == Ticket.Status.VALID
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.ACCEPTED and entry.registration == reg
    assert selectors.places_taken(event_id=event.pk) == 2
    # Idempotent: accepting twice returns the same booking.
    assert services.waitlist_accept(entry=entry) == reg


def test_paid_offer_accept_waits_for_payment(event, paid_type):
    event.capacity = 1
    event.save()
    reg = book(event, paid_type)
    entry = join(event, paid_type, 1)
    services.registration_expire(registration=reg)
    entry.refresh_from_db()
    assert entry.status == WaitingListEntry.Status.OFFERED
    new = services.waitlist_accept(entry=entry)
    assert new.status == Registration.Status.AWAITING_PAYMENT


def test_expired_offer_moves_on_to_next_person(full_event):
    event, tt, regs = full_event
    first, second = join(event, tt, 1), join(event, tt, 2)
    services.registration_cancel(registration=regs[0])
    with freeze_time(timezone.now() + timedelta(hours=event.waitlist_offer_hours, minutes=1)):
        with pytest.raises(RuleViolation) as info:
            services.waitlist_accept(entry=first)
        assert info.value.code == "offer_expired"
        assert services.waitlist_expire_offers() == 1
        assert status_of(first, second) == ["expired", "offered"]
        assert services.waitlist_expire_offers() == 0
        assert OutboxMail.objects.filter(key__startswith="waitlist_offer:").count() == 2
        services.waitlist_accept(entry=second)
    assert selectors.places_taken(event_id=event.pk) == 2


def test_offers_respect_ticket_type_capacity(event, free_type):
    from tests.factories import TicketTypeFactory

    event.capacity = 10
    event.save()
    vip = TicketTypeFactory(event=event, name="VIP", capacity=1)
    vip_reg = book(event, vip, n=1)
    waiting_vip = join(event, vip, 1)
    # Event places are free, the VIP type is not: the VIP waiter gets nothing yet.
    assert status_of(waiting_vip) == ["waiting"]
    services.registration_cancel(registration=vip_reg)
    assert status_of(waiting_vip) == ["offered"]


def test_joining_when_places_are_free_offers_at_once(event, free_type):
    entry = join(event, free_type, 1)
    assert entry.status == WaitingListEntry.Status.OFFERED


def test_organiser_raising_capacity_offers_places(full_event):
    event, tt, _ = full_event
    a, b, c = join(event, tt, 1), join(event, tt, 2), join(event, tt, 3)
    event.capacity = 4
    event.save()
    offered = services.waitlist_offer_free_places(event=event)
    assert [e.pk for e in offered] == [a.pk, b.pk]
    assert status_of(a, b, c) == ["offered", "offered", "waiting"]
    assert services.waitlist_offer_free_places(event=event) == []


def test_expired_payment_hold_is_offered(event, paid_type):
    event.capacity = 1
    event.save()
    reg = book(event, paid_type)
    entry = join(event, paid_type, 1)
    # Payments expires overdue holds (payments.services.holds_expire) through this service.
    services.registration_expire(registration=reg)
    assert status_of(entry) == ["offered"]
    from participants.tasks import expire_waitlist_offers_task

    assert expire_waitlist_offers_task.delay().get() == 0
    with freeze_time(timezone.now() + timedelta(hours=event.waitlist_offer_hours, seconds=1)):
        assert expire_waitlist_offers_task.delay().get() == 1
    assert status_of(entry) == ["expired"]


def test_no_offers_for_cancelled_event(full_event):
    event, tt, regs = full_event
    entry = join(event, tt, 1)
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    services.registration_cancel(registration=regs[0], actor="organiser")
    assert status_of(entry) == ["waiting"]
