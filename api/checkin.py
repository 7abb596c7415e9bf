"""POST /api/v1/events/{id}/checkin/ {secret}: check a ticket in (staff, session auth).

Thin: parse input, call participants.checkin.ticket_check_in, render JSON. Refusals come back
in the API's one error shape ({detail, code, errors}) with the service's distinct codes.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from common.permissions import IsOrganiser, may_check_in
from common.validators import CleanTextSerializerMixin
from events.models import Event
from participants.checkin import MAX_ID, ticket_check_in


class CheckInInput(CleanTextSerializerMixin, serializers.Serializer):
    secret = serializers.CharField(max_length=200, trim_whitespace=True)


class CheckInOutput(serializers.Serializer):
    status = serializers.SerializerMethodField()
    ticket_id = serializers.IntegerField(source="pk")
    attendee = serializers.CharField(source="person.name")
    ticket_type = serializers.CharField(source="ticket_type.name")
    booking_code = serializers.CharField(source="registration.code")
    checked_in_at = serializers.DateTimeField()

    def get_status(self, ticket) -> str:
        return "checked_in"


CHECKIN_ERROR = inline_serializer(
    name="CheckInError",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)


class EventCheckInView(APIView):
    authentication_classes = [SessionAuthentication]
    # Any organiser role here; the event itself is checked against the user's roles below.
    permission_classes = [IsOrganiser]

    @extend_schema(
        operation_id="event_checkin",
        request=CheckInInput,
        responses={
            200: CheckInOutput,
            400: OpenApiResponse(CHECKIN_ERROR, description="Empty or unknown ticket code."),
            403: OpenApiResponse(
                CHECKIN_ERROR,
                description="Not logged in as organiser, no CSRF token, or not your event.",
            ),
            404: OpenApiResponse(CHECKIN_ERROR, description="No such event."),
            409: OpenApiResponse(
                CHECKIN_ERROR,
                description=(
                    "Refused: checkin_not_open / checkin_closed (outside the event's check-in "
                    "window; the message names the time it opens or closed), already_checked_in "
                    "(message names the time of the first check-in), ticket_other_event, "
                    "ticket_cancelled, ticket_not_valid."
                ),
            ),
        },
        tags=["check-in"],
    )
    def post(self, request, event_id: int):
        if event_id > MAX_ID:
            raise Http404
        event = get_object_or_404(Event, pk=event_id)
        if not may_check_in(request.user, event):
            raise PermissionDenied
        data = CheckInInput(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_check_in(
            secret=data.validated_data["secret"], event=event, user=request.user, request=request
        )
        return Response(CheckInOutput(ticket).data)
