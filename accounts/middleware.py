"""Two-factor enforcement for organiser accounts, before any view runs.

Every organiser (any role: administrator, campaign manager, check-in staff) must have a
confirmed TOTP device and a session verified with it when OTP_REQUIRED_FOR_ORGANISERS is on
(always with the production settings); any other account that turned two-factor on must verify
too. Until then the account reaches only the two-factor pages, logout and static files: a
half-logged-in organiser sees no organiser page, no Django admin and no session-authenticated
API.
Runs after django_otp's OTPMiddleware (which gives request.user.is_verified()).
"""

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from common.permissions import two_factor_state

_EXEMPT_URL_NAMES = {
    "accounts:otp_setup",
    "accounts:otp_verify",
    "accounts:logout",
    "set_language",
    "healthz",
}


class OrganiserTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.view_name in _EXEMPT_URL_NAMES:
            return None
        state = two_factor_state(user)
        if state == "ok":
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": _("Two-factor authentication is required for this account."),
                    "code": "two_factor_required",
                    "errors": {},
                },
                status=403,
            )
        target = "accounts:otp_setup" if state == "setup" else "accounts:otp_verify"
        next_url = request.get_full_path() if request.method == "GET" else ""
        query = f"?{urlencode({'next': next_url})}" if next_url else ""
        return redirect(f"{reverse(target)}{query}")
