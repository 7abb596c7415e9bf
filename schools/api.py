"""API for school sessions: requests (public create, staff reads), ambassadors, sessions.

Personal data (contacts, ambassadors) is staff only; an ambassador logged in (session auth)
sees only their own sessions. Input serializer -> one service -> output serializer; rule
violations go through api.exceptions like everywhere else under /api/.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from api.services import request_fingerprint
from api.views import ERROR_SCHEMA, JSON_ONLY, LIST_ERRORS, ApiPagination
from common.errors import RuleViolation
from common.permissions import IsOrganiserAdmin, user_is_organiser_admin
from common.ratelimit import RateLimit, RateLimitMixin
from common.validators import CleanTextSerializerMixin
from organisations.models import Region
from participants.models import Language

from . import links, selectors, services
from .models import EducationLevel, WorkField


class PublicCreateStaffRead(BasePermission):
    """Anyone may send a request (POST); reading requests is for staff."""

    def has_permission(self, request, view) -> bool:
        if request.method not in SAFE_METHODS:
            return True
        return user_is_organiser_admin(request.user)


# --- Serializers -------------------------------------------------------------------------------


class SchoolDetailsInput(CleanTextSerializerMixin, serializers.Serializer):
    brin_code = serializers.CharField(max_length=8)
    name = serializers.CharField(max_length=200)
    street = serializers.CharField(max_length=200)
    postcode = serializers.CharField(max_length=8)
    city = serializers.CharField(max_length=100)
    region = serializers.SlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), required=False, allow_null=True
    )


class SchoolContactInput(CleanTextSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=Language.choices, required=False, default="nl")


@extend_schema_field(
    {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "10:00"}
)
class ClockTimeField(serializers.TimeField):
    """Output: a wall-clock time as HH:MM. The schema's format "time" would promise RFC 3339
    (seconds and a UTC offset), which these local times do not have."""

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%H:%M", **kwargs)


class SchoolSlotSerializer(CleanTextSerializerMixin, serializers.Serializer):
    date = serializers.DateField()
    start_time = serializers.TimeField(format="%H:%M")
    end_time = serializers.TimeField(format="%H:%M")


class SchoolSlotOutput(serializers.Serializer):
    date = serializers.DateField()
    start_time = ClockTimeField()
    end_time = ClockTimeField()


class SchoolRequestCreateInput(CleanTextSerializerMixin, serializers.Serializer):
    school = SchoolDetailsInput()
    contact = SchoolContactInput()
    slots = SchoolSlotSerializer(many=True)
    education_level = serializers.ChoiceField(choices=EducationLevel.choices)
    pupils = serializers.IntegerField(min_value=1, max_value=services.MAX_PUPILS)
    classes = serializers.IntegerField(min_value=1, max_value=100)
    work_field = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=WorkField.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    # The same choices as participants.Language, so the schema has one language enum.
    language = serializers.ChoiceField(choices=Language.choices, default="nl")
    wishes = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        style={"base_template": "textarea.html"},  # multi-line (common.validators)
    )


class SchoolRequestCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    school = serializers.CharField(source="school.name")
    slots = SchoolSlotOutput(many=True, source="slots.all")
    manage_url = serializers.SerializerMethodField()

    def get_manage_url(self, obj) -> str:
        return links.request_url(obj)


class SchoolPersonOutput(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField()


class SchoolRequestOutput(serializers.Serializer):
    """Staff view of a request, including the contact person."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    school = serializers.CharField(source="school.name")
    brin_code = serializers.CharField(source="school.brin_code")
    region = serializers.CharField(source="school.region.name", default=None, allow_null=True)
    contact = SchoolPersonOutput()
    education_level = serializers.CharField()
    pupils = serializers.IntegerField()
    classes = serializers.IntegerField()
    work_field = serializers.CharField(source="work_field.slug", default=None, allow_null=True)
    language = serializers.CharField()
    wishes = serializers.CharField()
    slots = SchoolSlotOutput(many=True, source="slots.all")
    created_at = serializers.DateTimeField()


class AmbassadorAvailabilityOutput(serializers.Serializer):
    weekday = serializers.IntegerField(allow_null=True)
    date = serializers.DateField(allow_null=True)
    start_time = ClockTimeField()
    end_time = ClockTimeField()


class AmbassadorOutput(serializers.Serializer):
    id = serializers.IntegerField()
    person = SchoolPersonOutput()
    work_field = serializers.CharField(source="work_field.slug")
    regions = serializers.SerializerMethodField()
    max_travel_km = serializers.IntegerField()
    max_sessions_per_month = serializers.IntegerField()
    trainings = serializers.ListField(child=serializers.CharField(), source="training_list")
    availability = AmbassadorAvailabilityOutput(many=True, source="availability.all")
    is_active = serializers.BooleanField()

    def get_regions(self, obj) -> list[str]:
        return [region.code for region in obj.regions.all()]


class SchoolSessionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    event_id = serializers.IntegerField()
    title = serializers.CharField(source="event.title")
    starts_at = serializers.DateTimeField(source="event.starts_at")
    ends_at = serializers.DateTimeField(source="event.ends_at")
    school = serializers.CharField(source="request.school.name")
    address = serializers.CharField(source="event.venue_address")
    pupils = serializers.IntegerField(source="request.pupils")
    education_level = serializers.CharField(source="request.education_level")
    ambassador = serializers.CharField(source="ambassador.person.name")
    request_id = serializers.IntegerField()


# --- Views -------------------------------------------------------------------------------------

ID = OpenApiParameter("request_id", OpenApiTypes.INT64, OpenApiParameter.PATH)
# Session auth has no WWW-Authenticate challenge: DRF answers a missing login with 403 too.
STAFF_ONLY = {
    403: OpenApiResponse(ERROR_SCHEMA, description="Not logged in as an organiser administrator.")
}
IDEMPOTENCY = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Repeat a create safely: the same key and body return the first request.",
)


class RequestListCreateView(RateLimitMixin, GenericAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [PublicCreateStaffRead]
    # JSON only: school, contact and slots are nested objects, which form encodings cannot carry.
    parser_classes = JSON_ONLY
    pagination_class = ApiPagination
    serializer_class = SchoolRequestOutput
    ratelimits = [RateLimit(scope="api-school-request", rate="30/h")]

    @extend_schema(
        operation_id="school_request_list",
        responses={200: SchoolRequestOutput(many=True), **STAFF_ONLY, **LIST_ERRORS},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.request_list())
        return self.get_paginated_response(SchoolRequestOutput(page, many=True).data)

    @extend_schema(
        operation_id="school_request_create",
        request=SchoolRequestCreateInput,
        parameters=[IDEMPOTENCY],
        responses={
            201: SchoolRequestCreatedOutput,
            200: OpenApiResponse(SchoolRequestCreatedOutput, description="Replayed (same key)."),
            400: OpenApiResponse(ERROR_SCHEMA, description="Invalid input, errors per field."),
            422: OpenApiResponse(
                ERROR_SCHEMA, description="Idempotency-Key reused for another body."
            ),
        },
        auth=[],
    )
    def post(self, request):
        data = SchoolRequestCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key and len(key) > 255:
            raise RuleViolation(
                _("The Idempotency-Key header may be at most 255 characters."),
                code="invalid",
                field="Idempotency-Key",
                conflict=False,
            )
        created = services.school_request_create(
            school=dict(v["school"]),
            contact=dict(v["contact"]),
            slots=[services.SlotInput(**s) for s in v["slots"]],
            education_level=v["education_level"],
            pupils=v["pupils"],
            classes=v["classes"],
            work_field=v.get("work_field"),
            language=v["language"],
            wishes=v["wishes"],
            client_key=key,
            client_fingerprint=request_fingerprint(
                method=request.method, path=request.path, data=request.data
            ),
        )
        response = Response(
            SchoolRequestCreatedOutput(created).data,
            status=status.HTTP_200_OK if created.replayed else status.HTTP_201_CREATED,
        )
        if created.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class RequestDetailView(GenericAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsOrganiserAdmin]
    serializer_class = SchoolRequestOutput

    @extend_schema(
        operation_id="school_request_detail",
        parameters=[ID],
        responses={
            200: SchoolRequestOutput,
            404: OpenApiResponse(ERROR_SCHEMA, description="No such request."),
            **STAFF_ONLY,
        },
    )
    def get(self, request, request_id: int):
        return Response(
            SchoolRequestOutput(get_object_or_404(selectors.request_list(), pk=request_id)).data
        )


class AmbassadorListView(GenericAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsOrganiserAdmin]
    pagination_class = ApiPagination
    serializer_class = AmbassadorOutput

    @extend_schema(
        operation_id="ambassador_list",
        responses={200: AmbassadorOutput(many=True), **STAFF_ONLY, **LIST_ERRORS},
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.ambassador_list())
        return self.get_paginated_response(AmbassadorOutput(page, many=True).data)


class SessionListView(GenericAPIView):
    """Staff: every session. An ambassador (logged in): only their own."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = ApiPagination
    serializer_class = SchoolSessionOutput

    @extend_schema(
        operation_id="school_session_list",
        responses={
            200: SchoolSessionOutput(many=True),
            403: OpenApiResponse(
                ERROR_SCHEMA, description="Not logged in as an organiser or an ambassador."
            ),
            **LIST_ERRORS,
        },
    )
    def get(self, request):
        if user_is_organiser_admin(request.user):
            sessions = selectors.session_list()
        else:
            ambassador = getattr(request.user, "ambassador_profile", None)
            if ambassador is None:
                raise PermissionDenied()
            sessions = selectors.session_list(ambassador=ambassador)
        page = self.paginate_queryset(sessions)
        return self.get_paginated_response(SchoolSessionOutput(page, many=True).data)
