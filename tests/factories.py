"""factory_boy factories for every core model; tests build their data from these."""

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import User
from events.models import Campaign, Event, Question, TicketType
from organisations.models import Membership, Organisation, Region
from participants.models import (
    CampaignParticipation,
    Person,
    Registration,
    Ticket,
    WaitingListEntry,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.nl")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.django.Password("secret-pass-123")


def region(code: str = "12") -> Region:
    return Region.objects.get(code=code)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = Organisation.Kind.EMPLOYER
    name = factory.Sequence(lambda n: f"Organisatie {n}")
    kvk_number = factory.Sequence(lambda n: f"{10000000 + n:08d}")
    sector = Organisation.Sector.CARE
    size_band = Organisation.SizeBand.MEDIUM
    region = factory.LazyFunction(region)
    street = "Hoofdstraat 1"
    postcode = "3511 AB"
    city = "Utrecht"


class SchoolFactory(OrganisationFactory):
    kind = Organisation.Kind.SCHOOL
    kvk_number = ""
    brin_code = factory.Sequence(
        lambda n: f"{n % 100:02d}{chr(65 + n // 26 % 26)}{chr(65 + n % 26)}"
    )
    sector = Organisation.Sector.EDUCATION


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Membership.Role.MEMBER


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Campagne {n}")
    slug = factory.Sequence(lambda n: f"campagne-{n}")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    campaign = factory.SubFactory(CampaignFactory)
    kind = Event.Kind.CONGRESS
    title = factory.Sequence(lambda n: f"Congres {n}")
    slug = factory.Sequence(lambda n: f"congres-{n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=7))
    venue_name = "Jaarbeurs"
    venue_address = "Jaarbeursplein 6, 3521 AL Utrecht"
    capacity = 100
    status = Event.Status.PUBLISHED


class CampaignWeekFactory(EventFactory):
    kind = Event.Kind.CAMPAIGN_WEEK
    title = factory.Sequence(lambda n: f"Week van de Werkstress {2030 + n}")
    slug = factory.Sequence(lambda n: f"week-{n}")
    capacity = None
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(days=4))


class TicketTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketType

    event = factory.SubFactory(EventFactory)
    name = factory.Sequence(lambda n: f"Ticket {n}")
    price_cents = 0


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    event = factory.SubFactory(EventFactory)
    label = factory.Sequence(lambda n: f"Vraag {n}")
    kind = Question.Kind.TEXT


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Deelnemer {n}")
    email = factory.Sequence(lambda n: f"person{n}@example.nl")


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration

    event = factory.SubFactory(EventFactory)
    booker = factory.SubFactory(PersonFactory)
    status = Registration.Status.CONFIRMED


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    registration = factory.SubFactory(RegistrationFactory)
    event = factory.LazyAttribute(lambda o: o.registration.event)
    ticket_type = factory.LazyAttribute(lambda o: TicketTypeFactory(event=o.registration.event))
    person = factory.SubFactory(PersonFactory)
    status = Ticket.Status.VALID


class WaitingListEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WaitingListEntry

    event = factory.SubFactory(EventFactory)
    ticket_type = factory.LazyAttribute(lambda o: TicketTypeFactory(event=o.event))
    person = factory.SubFactory(PersonFactory)


class CampaignParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignParticipation

    event = factory.SubFactory(CampaignWeekFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    contact = factory.SubFactory(PersonFactory)
    activities = ["workshop"]
    employees_reached = 50
