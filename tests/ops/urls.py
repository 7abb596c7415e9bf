"""The project's URLs plus small views that exercise common.ratelimit (tests only)."""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views import View
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.ratelimit import RateLimit, RateLimitMixin, ratelimit
from config.urls import urlpatterns as project_urlpatterns

# How often each view body really ran: a limited request must never reach it.
CALLS: dict[str, int] = {}


def _called(name: str) -> None:
    CALLS[name] = CALLS.get(name, 0) + 1


@ratelimit(scope="test-signup", rate="3/m")
@ratelimit(scope="test-signup-email", rate="2/h", key="email", field="email")
def signup(request):
    _called("signup")
    return HttpResponse("ok")


@ratelimit(scope="test-api-booking", rate="2/m")
def api_booking(request):
    _called("api_booking")
    return JsonResponse({"ok": True}, status=201)


@ratelimit(scope="test-page", rate="1/m", methods=("GET",))
def limited_page(request):
    _called("limited_page")
    return HttpResponse("ok")


class LoginView(RateLimitMixin, View):
    ratelimits = [RateLimit(scope="test-login", rate="2/m")]

    def post(self, request):
        _called("login")
        return HttpResponse("ok")


class DrfBookingView(RateLimitMixin, APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    ratelimits = [RateLimit(scope="test-drf", rate="1/m", key="email", field="booker_email")]

    def post(self, request):
        _called("drf")
        # The body must still be readable by DRF after the limiter looked at it.
        return Response({"booker_email": request.data.get("booker_email")}, status=201)


urlpatterns = [
    path("_test/signup/", signup),
    path("_test/login/", LoginView.as_view()),
    path("_test/page/", limited_page),
    path("api/_test/booking/", api_booking),
    path("api/_test/drf-booking/", DrfBookingView.as_view()),
    *project_urlpatterns,
]
