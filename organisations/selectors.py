"""Reads for the organisation portal. Every function that returns an organisation's rows takes
that organisation and filters on it; views never query these models directly."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from api.models import ApiToken
from events.models import Event
from participants.models import CampaignParticipation, Registration, Ticket

from .models import Invitation, Membership, Organisation


def membership_for_user(*, user, organisation_id: int) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.select_related("organisation", "user")
        .filter(user=user, organisation_id=organisation_id)
        .first()
    )


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    return Membership.objects.select_related("organisation").filter(user=user)


def member_list(*, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("user")
        .filter(organisation=organisation)
        .order_by("user__email")
    )


def member_get(*, organisation: Organisation, pk: int) -> Membership:
    found = member_list(organisation=organisation).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def invitation_list_open(*, organisation: Organisation) -> QuerySet[Invitation]:
    from django.utils import timezone

    return Invitation.objects.filter(
        organisation=organisation, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def registration_list(*, organisation: Organisation) -> QuerySet[Registration]:
    return (
        Registration.objects.filter(organisation=organisation)
        .select_related("event", "booker")
        .prefetch_related(
            Prefetch(
                "tickets",
                queryset=Ticket.objects.select_related("person", "ticket_type").order_by("id"),
            )
        )
        .order_by("event__starts_at", "created_at", "id")
    )


def registration_get(*, organisation: Organisation, pk: int) -> Registration:
    found = registration_list(organisation=organisation).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def ticket_get(*, organisation: Organisation, pk: int) -> Ticket:
    found = (
        Ticket.objects.select_related("registration", "event", "person", "ticket_type")
        .filter(registration__organisation=organisation, pk=pk)
        .first()
    )
    if found is None:
        raise Http404
    return found


def participation_list(*, organisation: Organisation) -> QuerySet[CampaignParticipation]:
    return (
        CampaignParticipation.objects.filter(organisation=organisation)
        .select_related("event", "contact")
        .order_by("-event__starts_at")
    )


@dataclass
class EventBookings:
    event: Event
    registrations: list[Registration] = field(default_factory=list)

    @property
    def active_ticket_count(self) -> int:
        return sum(
            1
            for registration in self.registrations
            for ticket in registration.tickets.all()
            if ticket.status in Ticket.HOLDS_PLACE
        )


def bookings_by_event(*, organisation: Organisation) -> list[EventBookings]:
    """The organisation's bookings grouped per event, soonest event first."""
    groups: dict[int, EventBookings] = {}
    for registration in registration_list(organisation=organisation):
        group = groups.setdefault(registration.event_id, EventBookings(registration.event))
        group.registrations.append(registration)
    return list(groups.values())


def user_exists_for_email(*, email: str) -> bool:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(email__iexact=email).exists()


def api_token_list(*, organisation: Organisation) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(organisation=organisation).select_related("created_by")


def api_token_get(*, organisation: Organisation, pk: int) -> ApiToken:
    found = api_token_list(organisation=organisation).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def booking_changes_open(*, registration: Registration) -> bool:
    """For display only (the participants services enforce the deadline): may attendees of
    this booking still be changed or cancelled?"""
    from django.utils import timezone

    event = registration.event
    deadline = event.cancellation_deadline or event.starts_at
    return timezone.now() < deadline and registration.status in (
        Registration.Status.CONFIRMED,
        Registration.Status.PENDING_APPROVAL,
        Registration.Status.AWAITING_PAYMENT,
    )
