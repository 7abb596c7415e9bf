"""Press API under /api/v1/press/ (included from api/urls.py).

Organiser administrators (session auth, IsOrganiserAdmin): the press list, invitations and the
coverage log. A journalist sees only their own invitations, authenticated by their personal
signed link token: `Authorization: PressLink <token>` (the token of the "my invitations" link
in every press mail).
"""

from contextlib import contextmanager

from django.contrib.auth.models import AnonymousUser
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from api.serializers import MAX_ID
from api.views import ERROR_SCHEMA, ID_PARAMETER, LIST_ERRORS, ApiPagination
from common.errors import RuleViolation
from common.permissions import IsOrganiserAdmin
from common.ratelimit import RateLimit, RateLimitMixin
from common.validators import CleanTextSerializerMixin
from organisations.models import Organisation, Region
from participants.models import Language

from . import links, selectors, services
from .models import Coverage, Journalist, MediaMoment, PressInvitation

# --- serializers ------------------------------------------------------------------


class JournalistListFilter(CleanTextSerializerMixin, serializers.Serializer):
    """Query parameters of the press list: like api.serializers.EventListFilter, a bad or
    empty value is a 400 naming the parameter, never a silently ignored filter."""

    media_type = serializers.ChoiceField(choices=Journalist.MediaType.choices, required=False)
    topic = serializers.CharField(
        max_length=300, required=False, help_text="Part of the journalist's topics."
    )
    include_removed = serializers.BooleanField(
        required=False, default=False, help_text="Also list journalists who were removed."
    )


class InvitationListFilter(CleanTextSerializerMixin, serializers.Serializer):
    # An unknown id filters to nothing (an empty list), like an unknown campaign on the events
    # list; a 404 is kept for a page after the last.
    moment = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="Id of a media moment: only its invitations (an unknown id gives an empty list).",
    )


class JournalistOut(serializers.ModelSerializer):
    name = serializers.CharField(source="person.name")
    email = serializers.EmailField(source="person.email")
    outlet = serializers.CharField(source="outlet.name")
    region = serializers.CharField(source="region.name", default=None, allow_null=True)

    class Meta:
        model = Journalist
        fields = [
            "id",
            "name",
            "email",
            "outlet",
            "media_type",
            "region",
            "topics",
            "legal_basis",
            "agreed_on",
            "removed_at",
        ]


class JournalistIn(CleanTextSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    outlet_id = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.filter(kind=Organisation.Kind.MEDIA_OUTLET)
    )
    media_type = serializers.ChoiceField(choices=Journalist.MediaType.choices)
    region_id = serializers.PrimaryKeyRelatedField(
        queryset=Region.objects.all(), required=False, allow_null=True
    )
    topics = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    legal_basis = serializers.ChoiceField(choices=Journalist.LegalBasis.choices)
    agreed_on = serializers.DateField()
    # The same choices as participants.Language, so the schema has one language enum.
    language = serializers.ChoiceField(choices=Language.choices, default=Language.NL)


class InvitationOut(serializers.ModelSerializer):
    moment_id = serializers.IntegerField()
    event_id = serializers.IntegerField(source="moment.event_id")
    title = serializers.CharField(source="moment.event.title")
    starts_at = serializers.DateTimeField(source="moment.event.starts_at")
    ends_at = serializers.DateTimeField(source="moment.event.ends_at")
    journalist_id = serializers.IntegerField()
    journalist = serializers.CharField(source="journalist.person.name")

    class Meta:
        model = PressInvitation
        fields = [
            "id",
            "moment_id",
            "event_id",
            "title",
            "starts_at",
            "ends_at",
            "journalist_id",
            "journalist",
            "status",
            "sent_at",
            "responded_at",
            "accreditation_requested_at",
            "crew_size",
            "camera",
            "photo",
        ]


class CoverageOut(serializers.ModelSerializer):
    moment_id = serializers.IntegerField()
    # Not "kind": that name is taken by other enums in the schema.
    coverage_kind = serializers.ChoiceField(source="kind", choices=Coverage.Kind.choices)
    campaign_id = serializers.IntegerField(source="moment.event.campaign_id")

    class Meta:
        model = Coverage
        fields = [
            "id",
            "moment_id",
            "campaign_id",
            "outlet_name",
            "coverage_kind",
            "published_on",
            "url",
            "estimated_reach",
        ]


class CoverageIn(CleanTextSerializerMixin, serializers.Serializer):
    moment_id = serializers.PrimaryKeyRelatedField(queryset=MediaMoment.objects.all())
    outlet_name = serializers.CharField(max_length=200)
    coverage_kind = serializers.ChoiceField(
        choices=Coverage.Kind.choices, default=Coverage.Kind.ARTICLE
    )
    published_on = serializers.DateField()
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    estimated_reach = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)


# --- auth ------------------------------------------------------------------


class PressLinkAuthentication(BaseAuthentication):
    """`Authorization: PressLink <token>`: request.auth becomes the Journalist."""

    keyword = "PressLink"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        parts = header.split()
        if not parts or parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid press link."))
        try:
            journalist = links.journalist_from_token(parts[1])
        except RuleViolation as exc:
            raise exceptions.AuthenticationFailed(_("Invalid press link.")) from exc
        if journalist.removed_at is not None:
            raise exceptions.AuthenticationFailed(_("You have been removed from the press list."))
        return AnonymousUser(), journalist

    def authenticate_header(self, request):
        return self.keyword


class PressLinkScheme(OpenApiAuthenticationExtension):
    target_class = "press.api.PressLinkAuthentication"
    name = "pressLink"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "PressLink <token of the journalist's personal link>",
        }


class IsJournalist(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Journalist)


class StaffView(RateLimitMixin, GenericAPIView):
    authentication_classes = [SessionAuthentication]
    # Organiser administrators only (a campaign manager's staff flag is not enough).
    permission_classes = [IsOrganiserAdmin]
    pagination_class = ApiPagination
    ratelimits: list = []


# Service parameter -> API input field, for the field errors a service reports.
JOURNALIST_ADD_FIELDS = {"outlet": "outlet_id", "region": "region_id"}
COVERAGE_ADD_FIELDS = {"moment": "moment_id", "kind": "coverage_kind"}


@contextmanager
def client_field_names(names: dict[str, str]):
    """Report a service's field errors under the API's input names, so the client reads them
    next to the fields it sent."""
    try:
        yield
    except RuleViolation as exc:
        exc.errors = {names.get(field, field): messages for field, messages in exc.errors.items()}
        if exc.field:
            exc.field = names.get(exc.field, exc.field)
        raise


# --- views ------------------------------------------------------------------

# Staff endpoints use session auth, which has no WWW-Authenticate challenge: DRF answers a
# missing login with 403, like a login without the organiser-administrator role.
STAFF_ONLY = {
    403: OpenApiResponse(ERROR_SCHEMA, description="Not logged in as an organiser administrator.")
}
INVALID_INPUT = {400: OpenApiResponse(ERROR_SCHEMA, description="Invalid input, field by field.")}
NO_PRESS_LINK = {
    401: OpenApiResponse(ERROR_SCHEMA, description="No, invalid or revoked press link.")
}


class JournalistListCreateView(StaffView):
    serializer_class = JournalistOut

    @extend_schema(
        operation_id="press_journalist_list",
        parameters=[JournalistListFilter],
        responses={200: JournalistOut(many=True), **STAFF_ONLY, **LIST_ERRORS},
        tags=["press"],
    )
    def get(self, request):
        # A plain dict, as on the events list: "?topic=" is invalid input, not "no filter".
        filters = JournalistListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        qs = selectors.journalist_list(**filters.validated_data)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(JournalistOut(page, many=True).data)

    @extend_schema(
        operation_id="press_journalist_create",
        request=JournalistIn,
        responses={
            201: JournalistOut,
            409: OpenApiResponse(ERROR_SCHEMA, description="Already on the press list."),
            **INVALID_INPUT,
            **STAFF_ONLY,
        },
        tags=["press"],
    )
    def post(self, request):
        data = JournalistIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with client_field_names(JOURNALIST_ADD_FIELDS):
            journalist = services.journalist_add(
                name=v["name"],
                email=v["email"],
                outlet=v["outlet_id"],
                media_type=v["media_type"],
                region=v.get("region_id"),
                topics=v["topics"],
                legal_basis=v["legal_basis"],
                agreed_on=v["agreed_on"],
                language=v["language"],
                user=request.user,
                request=request,
            )
        return Response(JournalistOut(journalist).data, status=201)


class InvitationListView(StaffView):
    serializer_class = InvitationOut

    @extend_schema(
        operation_id="press_invitation_list",
        parameters=[InvitationListFilter],
        responses={200: InvitationOut(many=True), **STAFF_ONLY, **LIST_ERRORS},
        tags=["press"],
    )
    def get(self, request):
        filters = InvitationListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        qs = selectors.invitation_list()
        if "moment" in filters.validated_data:
            qs = qs.filter(moment_id=filters.validated_data["moment"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(InvitationOut(page, many=True).data)


class MyInvitationListView(RateLimitMixin, GenericAPIView):
    """A journalist's own invitations, never anyone else's."""

    authentication_classes = [PressLinkAuthentication]
    permission_classes = [IsJournalist]
    pagination_class = ApiPagination
    serializer_class = InvitationOut
    ratelimits = [RateLimit(scope="api-press-link", rate="60/m", methods=("GET",))]

    @extend_schema(
        operation_id="press_my_invitations",
        responses={200: InvitationOut(many=True), **NO_PRESS_LINK, **LIST_ERRORS},
        tags=["press"],
    )
    def get(self, request):
        qs = selectors.invitation_list_for_journalist(journalist=request.auth)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(InvitationOut(page, many=True).data)


class MyInvitationDetailView(MyInvitationListView):
    @extend_schema(
        operation_id="press_my_invitation_detail",
        parameters=[ID_PARAMETER("invitation_id")],
        responses={
            200: InvitationOut,
            404: OpenApiResponse(ERROR_SCHEMA, description="Not found (or not your invitation)."),
            **NO_PRESS_LINK,
        },
        tags=["press"],
    )
    def get(self, request, invitation_id: int):
        invitation = get_object_or_404(
            selectors.invitation_list_for_journalist(journalist=request.auth), pk=invitation_id
        )
        return Response(InvitationOut(invitation).data)


class CoverageListCreateView(StaffView):
    serializer_class = CoverageOut

    @extend_schema(
        operation_id="press_coverage_list",
        responses={200: CoverageOut(many=True), **STAFF_ONLY, **LIST_ERRORS},
        tags=["press"],
    )
    def get(self, request):
        page = self.paginate_queryset(selectors.coverage_list())
        return self.get_paginated_response(CoverageOut(page, many=True).data)

    @extend_schema(
        operation_id="press_coverage_create",
        request=CoverageIn,
        responses={201: CoverageOut, **INVALID_INPUT, **STAFF_ONLY},
        tags=["press"],
    )
    def post(self, request):
        data = CoverageIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with client_field_names(COVERAGE_ADD_FIELDS):
            coverage = services.coverage_add(
                moment=v["moment_id"],
                outlet_name=v["outlet_name"],
                kind=v["coverage_kind"],
                published_on=v["published_on"],
                url=v["url"],
                estimated_reach=v["estimated_reach"],
                user=request.user,
                request=request,
            )
        return Response(CoverageOut(coverage).data, status=201)


class CoverageTotalOut(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    campaign = serializers.CharField()
    items = serializers.IntegerField()
    reach = serializers.IntegerField()


class CoverageTotalsView(StaffView):
    """One row per campaign: a short list, never paginated."""

    serializer_class = CoverageTotalOut
    pagination_class = None

    @extend_schema(
        operation_id="press_coverage_totals",
        responses={200: CoverageTotalOut(many=True), **STAFF_ONLY},
        tags=["press"],
    )
    def get(self, request):
        return Response(selectors.coverage_totals_per_campaign())


urlpatterns = [
    path("journalists/", JournalistListCreateView.as_view(), name="press_journalist_list"),
    path("invitations/", InvitationListView.as_view(), name="press_invitation_list"),
    path("my-invitations/", MyInvitationListView.as_view(), name="press_my_invitations"),
    path(
        "my-invitations/<int:invitation_id>/",
        MyInvitationDetailView.as_view(),
        name="press_my_invitation_detail",
    ),
    path("coverage/", CoverageListCreateView.as_view(), name="press_coverage_list"),
    path("coverage/totals/", CoverageTotalsView.as_view(), name="press_coverage_totals"),
]
