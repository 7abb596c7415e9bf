"""API views: parse input, call ONE service (or selector), render output."""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from common.ratelimit import RateLimitMixin
from events.selectors import event_places_left
from participants import services as participant_services

from . import selectors
from . import serializers as s
from .authentication import OrganisationTokenAuthentication
from .permissions import HasOrganisationToken
from .services import idempotent_call, request_fingerprint


class ApiPagination(PageNumberPagination):
    """page / page_size must be whole numbers from 1 (or page=last): anything else is a 400
    naming the parameter, not a silent fallback to page 1 or 50 results. A page after the last
    is a 404; page_size above max_page_size is capped, as the schema says."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        given = {
            name: request.query_params[name]
            for name in (self.page_query_param, self.page_size_query_param)
            if name in request.query_params
        }
        if given.get(self.page_query_param) in self.last_page_strings:
            del given[self.page_query_param]
        s.PageParameters(data=given).is_valid(raise_exception=True)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page: {self.page_size} unless given, at most "
                    f"{self.max_page_size} (larger values are capped)."
                )
        return parameters


ERROR_SCHEMA = inline_serializer(
    name="Error",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique value per intended create (e.g. a UUID). Repeating a request with the same "
        "key within 24 hours returns the first response and never creates twice; the same key "
        "with a different body gives 422."
    ),
)


def ID_PARAMETER(name: str) -> OpenApiParameter:  # noqa: N802 - reads like the constants above
    return OpenApiParameter(name, OpenApiTypes.INT64, OpenApiParameter.PATH)


PRIVATE_ERRORS = {
    401: OpenApiResponse(ERROR_SCHEMA, description="No, invalid or revoked API key."),
    404: OpenApiResponse(ERROR_SCHEMA, description="Not found (or not your organisation's)."),
}
# Paginated lists (ApiPagination): a bad page / page_size is a 400, a page after the last a 404.
LIST_ERRORS = {
    400: OpenApiResponse(
        ERROR_SCHEMA, description="Invalid query parameter (filter, page, page_size)."
    ),
    404: OpenApiResponse(ERROR_SCHEMA, description="No such page."),
}


# Request bodies are JSON only: bookings and sign-ups nest objects (booker, attendees,
# contact), which form encodings cannot carry, so the schema must not offer them (other
# content types get a 415 in the error shape).
JSON_ONLY = [JSONParser]


class PublicApiView(RateLimitMixin, GenericAPIView):
    """Rate limits: list common.ratelimit.RateLimit objects in `ratelimits` (per view)."""

    authentication_classes: list = []
    parser_classes = JSON_ONLY
    permission_classes = [AllowAny]
    pagination_class = ApiPagination
    ratelimits: list = []


class OrganisationApiView(RateLimitMixin, GenericAPIView):
    """Base for endpoints that act for the token's organisation (request.auth.organisation).
    Rate limits: list common.ratelimit.RateLimit objects in `ratelimits` (per view)."""

    authentication_classes = [OrganisationTokenAuthentication]
    permission_classes = [HasOrganisationToken]
    parser_classes = JSON_ONLY
    pagination_class = ApiPagination
    ratelimits: list = []

    @property
    def organisation(self):
        return self.request.auth.organisation

    def idempotent(self, request, action) -> Response:
        """Run one create through the Idempotency-Key protection (api.services)."""
        result = idempotent_call(
            organisation=self.organisation,
            key=request.headers.get("Idempotency-Key", "").strip() or None,
            fingerprint=request_fingerprint(
                method=request.method, path=request.path, data=request.data
            ),
            action=action,
        )
        response = Response(result.body, status=result.status)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class NotFoundView(PublicApiView):
    """Unknown /api/ paths answer in the API's JSON error shape, not with an HTML page."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        raise NotFound()

    # OPTIONS too: an unknown path has no methods to describe.
    post = put = patch = delete = options = get

    def http_method_not_allowed(self, request, *args, **kwargs):
        # Any other method (TRACE, PROPFIND, ...): still "no such resource", not a 405.
        raise NotFound()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # DRF lists the view's methods in Allow; nothing is allowed on a path that does not
        # exist, and an Allow of every method would advertise ones no resource has.
        del response["Allow"]
        return response


# --- Events (public) -----------------------------------------------------------------------


class EventListView(PublicApiView):
    """Published events that have not ended, soonest first; no key needed."""

    @extend_schema(
        operation_id="events_list",
        parameters=[s.EventListFilter],
        responses={200: s.EventListOutput(many=True), **LIST_ERRORS},
        tags=["events"],
        summary="Published upcoming events",
    )
    def get(self, request):
        # A plain dict: in a QueryDict DRF reads "?kind=" as "not given" (HTML form rules),
        # but an empty filter value is invalid input, as the schema says.
        filters = s.EventListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(selectors.event_list_public(**filters.validated_data))
        return self.get_paginated_response(s.EventListOutput(page, many=True).data)


class EventDetailView(PublicApiView):
    """One published event: places left per ticket type (price incl. VAT, VAT) and questions."""

    @extend_schema(
        operation_id="events_retrieve",
        responses={200: s.EventDetailOutput, 404: ERROR_SCHEMA},
        tags=["events"],
        summary="One published event with availability per ticket type and its questions",
    )
    @extend_schema(parameters=[ID_PARAMETER("event_id")])
    def get(self, request, event_id: int):
        try:
            event = selectors.event_get_public(event_id=event_id)
        except ObjectDoesNotExist as exc:
            raise NotFound() from exc
        places = selectors.ticket_type_places_left(event=event)
        context = {"places_left": places, "event_places_left": event_places_left(event=event)}
        return Response(s.EventDetailOutput(event, context=context).data)


# --- Bookings (token) ----------------------------------------------------------------------


class BookingListCreateView(OrganisationApiView):
    """The token organisation's bookings; creating one books attendees for it."""

    @extend_schema(
        operation_id="bookings_list",
        responses={200: s.BookingOutput(many=True), **PRIVATE_ERRORS, **LIST_ERRORS},
        tags=["bookings"],
        summary="Your organisation's bookings, newest first",
    )
    def get(self, request):
        qs = selectors.booking_list_for_organisation(organisation=self.organisation)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.BookingOutput(page, many=True).data)

    @extend_schema(
        operation_id="bookings_create",
        request=s.BookingCreateInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: s.BookingOutput,
            400: OpenApiResponse(ERROR_SCHEMA, description="Invalid input, field by field."),
            409: OpenApiResponse(ERROR_SCHEMA, description="Sold out, closed, duplicate…"),
            422: OpenApiResponse(ERROR_SCHEMA, description="Idempotency-Key reused."),
            **PRIVATE_ERRORS,
        },
        tags=["bookings"],
        summary="Book attendees onto an event for your organisation",
    )
    def post(self, request):
        data = s.BookingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        language = v["language"]

        def action():
            registration = participant_services.registration_create(
                event=v["event"],
                booker_name=v["booker"]["name"],
                booker_email=v["booker"]["email"],
                attendees=[
                    participant_services.AttendeeInput(
                        name=a["name"],
                        email=a["email"],
                        ticket_type_id=a["ticket_type"],
                        answers={int(k): val.strip() for k, val in a["answers"].items()},
                        language=a.get("language", language),
                    )
                    for a in v["attendees"]
                ],
                organisation=self.organisation,
                language=language,
                payment_method=v["payment_method"],
                # idempotent_call owns the transaction and rolls it back on any error
                savepoint=False,
            )
            selectors.booking_prefetch_for_output(registration=registration)
            return status.HTTP_201_CREATED, s.BookingOutput(registration).data

        return self.idempotent(request, action)


class BookingDetailView(OrganisationApiView):
    """One booking of the token's organisation, by booking code."""

    @extend_schema(
        operation_id="bookings_retrieve",
        responses={200: s.BookingOutput, **PRIVATE_ERRORS},
        tags=["bookings"],
        summary="One of your organisation's bookings",
    )
    def get(self, request, code: str):
        try:
            booking = selectors.booking_get_for_organisation(
                organisation=self.organisation, code=code
            )
        except ObjectDoesNotExist as exc:
            raise NotFound() from exc
        return Response(s.BookingOutput(booking).data)


class TicketCancelView(OrganisationApiView):
    """Cancel one ticket of a booking of the token's organisation."""

    @extend_schema(
        operation_id="tickets_cancel",
        request=None,
        responses={200: s.TicketOutput, 409: ERROR_SCHEMA, **PRIVATE_ERRORS},
        tags=["bookings"],
        summary="Cancel one ticket of your organisation's booking",
    )
    @extend_schema(parameters=[ID_PARAMETER("ticket_id")])
    def post(self, request, ticket_id: int):
        try:
            ticket = selectors.ticket_get_for_organisation(
                organisation=self.organisation, ticket_id=ticket_id
            )
        except ObjectDoesNotExist as exc:
            raise NotFound() from exc
        participant_services.ticket_cancel(ticket=ticket, actor="organisation")
        ticket = selectors.ticket_get_for_organisation(
            organisation=self.organisation, ticket_id=ticket_id
        )
        return Response(s.TicketOutput(ticket).data)


# --- Campaign-week sign-up (token) ---------------------------------------------------------


class ParticipationListCreateView(OrganisationApiView):
    """Campaign-week sign-ups of the token's organisation."""

    @extend_schema(
        operation_id="participations_list",
        responses={200: s.ParticipationOutput(many=True), **PRIVATE_ERRORS, **LIST_ERRORS},
        tags=["campaign weeks"],
        summary="Your organisation's campaign-week sign-ups",
    )
    def get(self, request):
        qs = selectors.participation_list_for_organisation(organisation=self.organisation)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.ParticipationOutput(page, many=True).data)

    @extend_schema(
        operation_id="participations_create",
        request=s.ParticipationCreateInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: s.ParticipationOutput,
            400: OpenApiResponse(ERROR_SCHEMA, description="Invalid input, field by field."),
            409: OpenApiResponse(ERROR_SCHEMA, description="Already taking part."),
            422: OpenApiResponse(ERROR_SCHEMA, description="Idempotency-Key reused."),
            **PRIVATE_ERRORS,
        },
        tags=["campaign weeks"],
        summary="Sign your organisation up for a campaign week",
    )
    def post(self, request):
        data = s.ParticipationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        organisation_details = s.organisation_details_for(
            organisation=self.organisation, given=v.get("organisation") or {}
        )

        def action():
            participation = participant_services.participation_create(
                event=v["event"],
                organisation=organisation_details,
                contact={**v["contact"], "language": get_language() or "nl"},
                activities=v["activities"],
                activities_description=v["activities_description"],
                employees_reached=v["employees_reached"],
                listed_publicly=v["listed_publicly"],
            )
            return status.HTTP_201_CREATED, s.ParticipationOutput(participation).data

        return self.idempotent(request, action)
