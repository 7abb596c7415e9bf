import base64
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from common.errors import RuleViolation
from common.permissions import user_has_confirmed_device
from common.ratelimit import ratelimit

from . import login_limits, services
from .forms import LoginForm, MagicLinkRequestForm, OTPTokenForm
from .tokens import magic_link_user_from_token


def _default_redirect(user) -> str:
    # People who act for an organisation come to log in for the portal.
    if user.memberships.exists():
        return reverse("organisations:portal")
    return reverse(settings.LOGIN_REDIRECT_URL)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm

    def get_default_redirect_url(self) -> str:
        return _default_redirect(self.request.user)


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


# Per address, on top of the service's silent per-mailbox limit: one client cannot mail links to
# a long list of addresses. A 429 says nothing about whether an address has an account.
@ratelimit(scope="magic-link", rate="20/h")
@require_http_methods(["GET", "POST"])
def magic_link_request(request: HttpRequest) -> HttpResponse:
    form = MagicLinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.magic_link_request(
            email=form.cleaned_data["email"],
            language=translation.get_language() or settings.LANGUAGE_CODE,
            next_url=_safe_next(request),
        )
        # Post/redirect/get, and the same page whether or not the address has an account.
        return redirect("accounts:magic_link_sent")
    return render(
        request, "accounts/magic_link_request.html", {"form": form, "next": _safe_next(request)}
    )


def magic_link_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/magic_link_sent.html")


@ratelimit(scope="password-reset", rate="20/h")
@require_http_methods(["GET", "POST"])
def password_reset_request(request: HttpRequest) -> HttpResponse:
    form = MagicLinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(
            email=form.cleaned_data["email"],
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        return redirect("accounts:password_reset_sent")
    return render(request, "accounts/password_reset_request.html", {"form": form})


def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_reset_sent.html")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@require_http_methods(["GET", "POST"])
def magic_link_login(request: HttpRequest, token: str) -> HttpResponse:
    next_url = _safe_next(request)
    try:
        if request.method == "POST":
            user = services.magic_link_redeem(token=token)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(next_url or _default_redirect(user))
        # GET only shows a button: link scanners in mail filters must not use the link up.
        link_user = magic_link_user_from_token(token)
    except RuleViolation as exc:
        return render(request, "accounts/magic_link_login.html", {"error": exc.message}, status=400)
    return render(
        request, "accounts/magic_link_login.html", {"link_user": link_user, "next": next_url}
    )


# --- Two-factor (TOTP) ---------------------------------------------------------------------------


def _with_next(url_name: str, next_url: str) -> str:
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return f"{reverse(url_name)}{query}"


def _after_2fa(request: HttpRequest) -> str:
    return _safe_next(request) or _default_redirect(request.user)


@login_required
@ratelimit(scope="otp-setup", rate="10/m")
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: secret + otpauth:// QR (inline SVG), then confirm a code."""
    if user_has_confirmed_device(request.user) and not request.user.is_verified():
        # Replacing the device needs the current one first, or a stolen password would do.
        return redirect(
            f"{reverse('accounts:otp_verify')}?{urlencode({'next': request.get_full_path()})}"
        )
    device = services.totp_device_pending(user=request.user)
    form = OTPTokenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = services.totp_device_confirm(
                user=request.user, token=form.cleaned_data["token"], request=request
            )
        except RuleViolation as exc:
            form.add_error("token", exc.message)
            status = 400
        else:
            otp_login(request, device)
            login_limits.second_factor_passed(request, user=request.user)
            # Shown once, in the answer to the POST: nothing to reload or bookmark.
            codes = services.backup_codes_create(user=request.user)
            return render(
                request,
                "accounts/otp_backup_codes.html",
                {"codes": codes, "continue_url": _after_2fa(request)},
            )
    elif request.method == "POST":
        status = 400
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    qr_label = _("QR code for your authenticator app")
    qr_svg = segno.make(device.config_url, error="m").svg_inline(
        scale=4, title=qr_label, light="#ffffff"
    )
    # An image to screen readers (the secret is also shown as text below it).
    qr_svg = qr_svg.replace("<svg ", f'<svg role="img" aria-label="{escape(qr_label)}" ', 1)
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "qr_svg": mark_safe(qr_svg),  # noqa: S308 - segno output, no user input in it
            # On a phone the QR code cannot be scanned by that same phone: this link hands the
            # key to its authenticator app (check-in staff often have nothing but the phone).
            "otpauth_url": device.config_url,
            "next": _safe_next(request),
        },
        status=status,
    )


@login_required
@ratelimit(scope="otp-verify", rate="10/m")
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Second step after a password or login-link login."""
    if not user_has_confirmed_device(request.user):
        return redirect(
            f"{reverse('accounts:otp_setup')}?{urlencode({'next': _safe_next(request)})}"
        )
    form = OTPTokenForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        # Six digits are guessable: wrong codes count on the same failed-login tally as wrong
        # passwords (per account and per address), and a lockout stops the checking.
        refusal = login_limits.second_factor_refusal(request, user=request.user)
        if refusal is not None:
            return refusal
        try:
            device = services.otp_check(user=request.user, token=form.cleaned_data["token"])
        except RuleViolation as exc:
            login_limits.second_factor_failed(request, user=request.user)
            form.add_error("token", exc.message)
            status = 400
        else:
            otp_login(request, device)
            login_limits.second_factor_passed(request, user=request.user)
            return redirect(_after_2fa(request))
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "accounts/otp_verify.html",
        {"form": form, "next": _safe_next(request)},
        status=status,
    )
