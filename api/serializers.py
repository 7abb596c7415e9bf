"""Input and output serializers per resource (input -> one service -> output).

Input serializers check shape and references (does this ticket type belong to this event?) so
errors come back per field; the services still enforce every business rule."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.validators import CleanTextSerializerMixin
from events.models import Event, Question
from organisations.validators import normalise_kvk, normalise_postcode
from participants import links
from participants import selectors as participant_selectors
from participants.models import CampaignParticipation, Language, Registration, Ticket
from payments import selectors as payment_selectors

# Largest bigint: a bigger id would make the database raise instead of "not found".
MAX_ID = 2**63 - 1


class PageParameters(CleanTextSerializerMixin, serializers.Serializer):
    """The pagination query parameters of every list (api.views.ApiPagination)."""

    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, required=False)


# --- Events (public) -----------------------------------------------------------------------


class CampaignOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class EventListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.CharField()
    campaign = CampaignOutput()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    venue_name = serializers.CharField()
    venue_address = serializers.CharField()
    is_online = serializers.BooleanField()
    capacity = serializers.IntegerField(allow_null=True)
    places_left = serializers.IntegerField(
        allow_null=True, help_text="Places left for the event as a whole; null means no limit."
    )
    registration_open = serializers.SerializerMethodField()

    def get_registration_open(self, event: Event) -> bool:
        return event.registration_is_open()


class TicketTypeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    price_cents = serializers.IntegerField(help_text="Price including VAT, in euro cents.")
    vat_rate = serializers.DecimalField(max_digits=4, decimal_places=2)
    vat_cents = serializers.SerializerMethodField()
    places_left = serializers.SerializerMethodField()

    def get_vat_cents(self, ticket_type) -> int:
        # The price includes VAT: vat = price * rate / (100 + rate), rounded to whole cents.
        rate = Decimal(ticket_type.vat_rate)
        vat = Decimal(ticket_type.price_cents) * rate / (Decimal(100) + rate)
        return int(vat.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_places_left(self, ticket_type) -> int | None:
        return self.context.get("places_left", {}).get(ticket_type.pk)


class QuestionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    required = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField(), source="choice_list")


class EventDetailOutput(EventListOutput):
    description = serializers.CharField()
    online_url = serializers.CharField()
    registration_opens_at = serializers.DateTimeField(allow_null=True)
    registration_closes_at = serializers.DateTimeField(allow_null=True)
    cancellation_deadline = serializers.DateTimeField(allow_null=True)
    requires_approval = serializers.BooleanField()
    max_tickets_per_booking = serializers.IntegerField()
    ticket_types = TicketTypeOutput(many=True)
    questions = QuestionOutput(many=True)
    places_left = serializers.SerializerMethodField()

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_places_left(self, event) -> int | None:
        if event.capacity is None:
            return None
        left = self.context.get("event_places_left")
        return left


class EventListFilter(CleanTextSerializerMixin, serializers.Serializer):
    campaign = serializers.SlugField(required=False, help_text="Campaign slug.")
    kind = serializers.ChoiceField(choices=Event.Kind.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="Events ending on or after.")
    date_to = serializers.DateField(required=False, help_text="Events starting on or before.")
    has_places = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if (
            attrs.get("date_from")
            and attrs.get("date_to")
            and attrs["date_to"] < attrs["date_from"]
        ):
            raise serializers.ValidationError(
                {"date_to": [_("The end date must be on or after the start date.")]}
            )
        return attrs


# --- Bookings (token) ----------------------------------------------------------------------


class PersonInput(CleanTextSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)


class AttendeeInput(PersonInput):
    ticket_type = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of one of the event's ticket types."
    )
    answers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        required=False,
        default=dict,
        help_text='Question id -> answer; yes/no questions take "yes" or "no".',
    )
    language = serializers.ChoiceField(choices=Language.choices, required=False)


class BookingCreateInput(CleanTextSerializerMixin, serializers.Serializer):
    event = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of a published event."
    )
    booker = PersonInput()
    attendees = serializers.ListField(child=AttendeeInput(), allow_empty=False, min_length=1)
    payment_method = serializers.ChoiceField(
        choices=[("online", _("Online (iDEAL)")), ("invoice", _("Invoice"))],
        default="online",
        help_text="For paid tickets. online (iDEAL or card) only where online payment is "
        "configured; a method that is not available now is refused with a field error.",
    )
    language = serializers.ChoiceField(choices=Language.choices, default=Language.NL)

    def validate_event(self, value: int) -> Event:
        event = participant_selectors.event_for_booking(event_id=value)
        if event is None:
            raise serializers.ValidationError(_("There is no published event with this id."))
        return event

    def validate(self, attrs):
        event: Event = attrs["event"]
        attendees = attrs["attendees"]
        errors: dict = {}
        if len(attendees) > event.max_tickets_per_booking:
            errors["attendees"] = [
                _("At most %(n)d attendees can be booked at once for this event.")
                % {"n": event.max_tickets_per_booking}
            ]
        ticket_types = {tt.pk: tt for tt in event.ticket_types.all()}
        questions = {q.pk: q for q in event.questions.all()}
        attendee_errors: dict[int, dict] = {}
        for index, attendee in enumerate(attendees):
            own: dict[str, list] = {}
            tt = ticket_types.get(attendee["ticket_type"])
            if tt is None:
                own["ticket_type"] = [_("This ticket type does not belong to this event.")]
            elif not tt.is_active:
                own["ticket_type"] = [_("This ticket type is not on sale.")]
            answer_errors = _answer_errors(attendee.get("answers", {}), questions)
            if answer_errors:
                own["answers"] = answer_errors
            if own:
                attendee_errors[index] = own
        if attendee_errors:
            errors["attendees"] = [attendee_errors.get(i, {}) for i in range(len(attendees))]
        paid = any(
            not ticket_types[a["ticket_type"]].is_free
            for a in attendees
            if a["ticket_type"] in ticket_types
        )
        # The API books for its token's organisation, so invoice is always possible; online
        # only when payments says it can work now (one rule for form, portal and API).
        refusal = paid and payment_selectors.payment_method_refusal(
            method=attrs["payment_method"], for_organisation=True
        )
        if refusal:
            errors["payment_method"] = [refusal]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _answer_errors(answers: dict, questions: dict[int, Question]) -> dict:
    errors: dict[str, list] = {}
    given: dict[int, str] = {}
    for raw_id, value in answers.items():
        try:
            question = questions[int(raw_id)]
        except (KeyError, ValueError):
            errors[str(raw_id)] = [_("This question does not belong to this event.")]
            continue
        value = value.strip()
        given[question.pk] = value
        if not value:
            continue
        if question.kind == Question.Kind.YES_NO and value not in ("yes", "no"):
            errors[str(question.pk)] = [_('Answer "yes" or "no".')]
        elif question.kind == Question.Kind.CHOICE and value not in question.choice_list:
            errors[str(question.pk)] = [
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(question.choice_list)}
            ]
    for question in questions.values():
        if question.required and not given.get(question.pk):
            errors[str(question.pk)] = [_("This question must be answered.")]
    return errors


class AttendeeOutput(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.EmailField()


class TicketTypeRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    price_cents = serializers.IntegerField()


class TicketOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    attendee = AttendeeOutput(source="person")
    ticket_type = TicketTypeRefOutput()
    booking = serializers.CharField(source="registration.code")
    cancelled_at = serializers.DateTimeField(allow_null=True)


class EventRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()


class BookingOutput(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Registration.Status.choices)
    event = EventRefOutput()
    booker = AttendeeOutput()
    language = serializers.CharField()
    created_at = serializers.DateTimeField()
    hold_expires_at = serializers.DateTimeField(allow_null=True)
    tickets = TicketOutput(many=True)
    manage_url = serializers.SerializerMethodField()
    payment_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_manage_url(self, registration) -> str:
        return links.booking_manage_url(registration)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_payment_url(self, registration) -> str | None:
        if registration.status != Registration.Status.AWAITING_PAYMENT:
            return None
        return payment_url(registration)

    def to_representation(self, instance):
        """The declared fields above, written out: DRF copies every declared field (and the
        nested serializers' fields) for each serializer it builds, which cost as much CPU as
        the booking's database work. ``declared_representation`` is DRF's own rendering of
        the same fields; a test holds the two equal for bookings in every state."""
        registration = instance
        event = registration.event
        booker = registration.booker
        code = registration.code
        data = {
            "code": code,
            "status": registration.status,
            "event": {
                "id": event.id,
                "slug": event.slug,
                "title": event.title,
                "starts_at": _datetime(event.starts_at),
            },
            "booker": {"name": booker.name, "email": booker.email},
            "language": registration.language,
            "created_at": _datetime(registration.created_at),
            "hold_expires_at": _datetime(registration.hold_expires_at),
            "tickets": [
                {
                    "id": ticket.id,
                    "status": ticket.status,
                    "attendee": {"name": ticket.person.name, "email": ticket.person.email},
                    "ticket_type": {
                        "id": ticket.ticket_type.id,
                        "name": ticket.ticket_type.name,
                        "price_cents": ticket.ticket_type.price_cents,
                    },
                    "booking": code,
                    "cancelled_at": _datetime(ticket.cancelled_at),
                }
                for ticket in registration.tickets.all()
            ],
            "manage_url": self.get_manage_url(registration),
        }
        payment = self.get_payment_url(registration)
        if payment is not None:
            # Only bookings that still have to be paid carry a payment link.
            data["payment_url"] = payment
        return data

    def declared_representation(self, instance):
        """DRF's rendering from the declared fields (what to_representation must equal)."""
        data = super().to_representation(instance)
        if data.get("payment_url") is None:
            data.pop("payment_url", None)
        return data


# One unbound field formats every output time the way DRF's DateTimeField does (ISO 8601 in
# the current time zone): it needs no parent, so it is built once.
_DATETIME = serializers.DateTimeField()


def _datetime(value):
    return None if value is None else _DATETIME.to_representation(value)


def payment_url(registration) -> str | None:
    """Where the booker pays an awaiting_payment booking (payments:checkout), if deployed and
    paying online can work now (payments.selectors): no link to a page that cannot work."""
    if not payment_selectors.booking_payable_online(registration=registration):
        return None
    try:
        path = reverse("payments:checkout", kwargs={"token": links.booking_token(registration)})
    except NoReverseMatch:  # the payments app has not published its checkout page yet
        return None
    return settings.SITE_URL + path


class BookingOutputSchema(OpenApiSerializerExtension):
    """BookingOutput leaves payment_url out unless the booking still has to be paid; a method
    field is always "required" in drf-spectacular's response schema, so say it is optional."""

    target_class = BookingOutput

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["required"] = [name for name in schema["required"] if name != "payment_url"]
        schema["properties"]["payment_url"].pop("nullable", None)
        return schema


class TicketCancelInput(CleanTextSerializerMixin, serializers.Serializer):
    """No fields: the ticket is in the URL. Kept so the schema documents an empty body."""


# --- Campaign-week sign-up (token) ---------------------------------------------------------


class ContactInput(PersonInput):
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class OrganisationDetailsInput(CleanTextSerializerMixin, serializers.Serializer):
    """Details the token's organisation may still lack (e.g. registered via a school list).
    They complete the organisation's record; they never move the sign-up elsewhere."""

    kvk_number = serializers.CharField(required=False, allow_blank=True)
    postcode = serializers.CharField(required=False, allow_blank=True)
    street = serializers.CharField(required=False, allow_blank=True, max_length=200)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)

    def validate_kvk_number(self, value: str) -> str:
        if not value:
            return value
        try:
            return normalise_kvk(value)
        except DjangoValidationError as exc:  # same (translated) message, DRF's error type
            raise serializers.ValidationError(exc.messages) from exc

    def validate_postcode(self, value: str) -> str:
        if not value:
            return value
        try:
            return normalise_postcode(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class ParticipationCreateInput(CleanTextSerializerMixin, serializers.Serializer):
    event = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of a published campaign week."
    )
    contact = ContactInput()
    activities = serializers.ListField(
        child=serializers.ChoiceField(choices=CampaignParticipation.Activity.choices),
        allow_empty=False,
        min_length=1,  # same rule as allow_empty; this one reaches the schema (minItems)
    )
    activities_description = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        style={"base_template": "textarea.html"},  # multi-line (common.validators)
    )
    employees_reached = serializers.IntegerField(min_value=1, max_value=10_000_000)
    listed_publicly = serializers.BooleanField(default=False)
    organisation = OrganisationDetailsInput(required=False)

    def validate_event(self, value: int) -> Event:
        event = Event.objects.filter(
            pk=value, status=Event.Status.PUBLISHED, kind=Event.Kind.CAMPAIGN_WEEK
        ).first()
        if event is None:
            raise serializers.ValidationError(
                _("There is no published campaign week with this id.")
            )
        return event


class ParticipationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CampaignParticipation.Status.choices)
    event = EventRefOutput()
    organisation = serializers.CharField(source="organisation.name")
    contact = AttendeeOutput()
    activities = serializers.ListField(child=serializers.CharField())
    activities_description = serializers.CharField()
    employees_reached = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    manage_url = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_manage_url(self, participation) -> str:
        return links.participation_manage_url(participation)


def organisation_details_for(*, organisation, given: dict) -> dict:
    """The organisation block for participation_create: always the token's organisation.

    participation_create finds the organisation by KvK number, so the token's own KvK number is
    what keeps a sign-up from landing on another organisation. Given details may only fill
    blanks; a different KvK number is refused."""
    if not organisation.kvk_number:
        raise serializers.ValidationError(
            {
                "organisation.kvk_number": [
                    _(
                        "Your organisation has no KvK number on record. Add it in the "
                        "organisation portal first."
                    )
                ]
            }
        )
    if given.get("kvk_number") and given["kvk_number"] != organisation.kvk_number:
        raise serializers.ValidationError(
            {
                "organisation.kvk_number": [
                    _("This is not the KvK number of the organisation this API key belongs to.")
                ]
            }
        )
    details = {
        "name": organisation.name,
        "kvk_number": organisation.kvk_number,
        "sector": organisation.sector,
        "size_band": organisation.size_band,
        "region": organisation.region,
        "street": organisation.street,
        "postcode": organisation.postcode,
        "city": organisation.city,
        "website": organisation.website,
        "email": organisation.email,
    }
    for field in ("street", "postcode", "city"):
        if not details[field] and given.get(field):
            details[field] = given[field]
    return details
