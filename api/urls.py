from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from common.middleware import csp_update

from . import checkin, views

app_name = "api"


class IdConverter:
    """Database ids: at most 18 digits, so a huge number is a 404, never a database error."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")

v1 = [
    path("events/", views.EventListView.as_view(), name="event_list"),
    path("events/<id:event_id>/", views.EventDetailView.as_view(), name="event_detail"),
    path("bookings/", views.BookingListCreateView.as_view(), name="booking_list"),
    path("bookings/<str:code>/", views.BookingDetailView.as_view(), name="booking_detail"),
    path("tickets/<id:ticket_id>/cancel/", views.TicketCancelView.as_view(), name="ticket_cancel"),
    path(
        "events/<int:event_id>/checkin/", checkin.EventCheckInView.as_view(), name="event_checkin"
    ),
    path(
        "participations/",
        views.ParticipationListCreateView.as_view(),
        name="participation_list",
    ),
    path("schools/", include("schools.api_urls")),
    path("press/", include("press.api")),
]

urlpatterns = [
    path("v1/", include((v1, "v1"))),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Own templates: no inline <script>/<style> (Content-Security-Policy) and no CDN fonts.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="api/swagger_ui.html"
        ),
        name="docs",
    ),
    path(
        "redoc/",
        # Redoc's styled-components inject <style> elements and its search runs in a blob:
        # worker; inline scripts stay forbidden.
        csp_update({"style-src": "'self' 'unsafe-inline'", "worker-src": "'self' blob:"})(
            SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")
        ),
        name="redoc",
    ),
    # Last: anything else under /api/ is a JSON 404.
    re_path(r"^", views.NotFoundView.as_view(), name="not_found"),
]
