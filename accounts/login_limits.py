"""Limits on guessing logins: django-axes, configured for this project (config/settings/base.py).

What counts as a failure: a wrong password anywhere Django's authenticate() runs with a request
(the login page, the Django admin login, any later API login with a password) and a wrong
second-factor code (accounts:otp_verify). Both count on the same tally, so someone who knows a
password cannot guess codes without limit either.

Two tallies decide a lockout, each over the last AXES_COOLOFF_TIME:
- failures naming one account, from any address (AXES_FAILURE_LIMIT): one account guessed from
  many addresses;
- failures from one client address (common.ratelimit.client_address: the proxy-aware address,
  an IPv6 client by its /64), for any accounts (LOGIN_ADDRESS_FAILURE_LIMIT, higher, because
  an office behind one address has many people making typos): one address trying many accounts.
While either is reached, the password or code is not even checked; the answer is a Dutch page
(or JSON for API clients) with HTTP 429 and Retry-After. Attempts refused during a lockout do
not extend it, so the owner can try again when the time is up; a login link by e-mail still
works meanwhile (it proves the mailbox, not a guess).

axes checks the lockout before the password and records the failure after it, so requests sent
in parallel could all pass the check before any failure is recorded. An atomic counter in the
cache (common.ratelimit, Redis INCR in production) therefore also caps the attempts per account,
failed or not, at ACCOUNT_ATTEMPTS_FACTOR times the failure limit per lockout period.

A successful login resets the account's own failures only once the login is complete (after the
second factor when one follows); axes' own reset would also clear every failure from the
address, which would let someone with one working account reset their address's tally.
"""

from __future__ import annotations

import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_credentials, get_lockout_parameters
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import ngettext

from common.permissions import two_factor_state
from common.ratelimit import RateLimit, wants_json
from privacy.audit import audit_record

# The attempts cap (failed or not) per account and lockout period, as a multiple of the failure
# limit: room for a person's own logins (a password and a code each), none for a parallel burst.
ACCOUNT_ATTEMPTS_FACTOR = 3
# Set on the request when the attempts cap (not axes' tally) refused it: the seconds to wait.
_RETRY_AFTER_ATTR = "login_limit_retry_after"


def normalise_username(value) -> str | None:
    """Log-ins are by e-mail address, compared lower-case: "Jan@X.nl" and "jan@x.nl" are one
    account on one tally. Cut to the column's length (axes stores it)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()[:255]


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a login attempt names. Django's login forms pass
    `username`; authenticate(email=...) passes the model's USERNAME_FIELD instead."""
    source = credentials if credentials is not None else request.POST
    for key in ("username", get_user_model().USERNAME_FIELD):
        name = normalise_username(source.get(key))
        if name:
            return name
    return None


def _address_limit() -> int:
    return settings.LOGIN_ADDRESS_FAILURE_LIMIT


def _cool_off() -> timedelta:
    return settings.AXES_COOLOFF_TIME


def _account_attempts() -> RateLimit:
    minutes = max(1, int(_cool_off().total_seconds() // 60))
    return RateLimit(
        scope="login-account",
        rate=f"{ACCOUNT_ATTEMPTS_FACTOR * settings.AXES_FAILURE_LIMIT}/{minutes}m",
        key="email",
    )


class LoginLimitBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: refuses (before any password is checked) while axes
    has the account or address locked out, or while the account is over the attempts cap.
    It never logs anyone in itself; ModelBackend after it checks the password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # Raises AxesBackendPermissionDenied while locked out (and without a request at all,
        # so a login path that cannot be counted fails loudly instead of going unlimited).
        super().authenticate(request, username=username, password=password, **kwargs)
        if not settings.AXES_ENABLED:
            return None
        name = login_username(request, get_credentials(username, **kwargs))
        wait = _account_attempts().hit_identity(name or "")
        if wait is not None:
            # axes' middleware turns a request marked like this into the lockout answer.
            request.axes_locked_out = True
            setattr(request, _RETRY_AFTER_ATTR, wait)
            raise AxesBackendPermissionDenied("Too many login attempts for this account.")
        return None


class LoginAttemptHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes' database handler (counts shared by every web process), with a
    separate limit per address, the narrow reset described above and the audit log."""

    def failure_counts(self, request, credentials: dict | None = None) -> dict[str, int]:
        """Failures within the lockout period per lockout parameter ("username", "ip_address")."""
        parameters = get_lockout_parameters(request, credentials)
        querysets = self.get_user_attempts(request, credentials)
        return {
            "+".join(parameter) if isinstance(parameter, list) else parameter: (
                queryset.aggregate(total=Sum("failures_since_start"))["total"] or 0
            )
            for parameter, queryset in zip(parameters, querysets, strict=True)
        }

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # axes compares this one number with AXES_FAILURE_LIMIT (the account limit). The
        # address tally is put on that scale, floor(count * account / address), which reaches
        # the account limit exactly when the count reaches the address limit.
        account_limit = settings.AXES_FAILURE_LIMIT
        scaled = [
            count * account_limit // _address_limit() if parameter == "ip_address" else count
            for parameter, count in self.failure_counts(request, credentials).items()
        ]
        return max(scaled, default=0)

    def lockout_reasons(self, request, credentials: dict | None = None) -> list[str]:
        counts = self.failure_counts(request, credentials)
        reasons = []
        if counts.get("username", 0) >= settings.AXES_FAILURE_LIMIT:
            reasons.append("account")
        if counts.get("ip_address", 0) >= _address_limit():
            reasons.append("address")
        return reasons

    def seconds_left(self, request, credentials: dict | None = None) -> int:
        """At most this long until the lockout ends: the lockout period after the latest
        counted failure (earlier ones may expire sooner and end it before)."""
        latest = [
            value
            for queryset in self.get_user_attempts(request, credentials)
            if (value := queryset.aggregate(latest=Max("attempt_time"))["latest"]) is not None
        ]
        if not latest:
            return int(_cool_off().total_seconds())
        left = (max(latest) + _cool_off() - timezone.now()).total_seconds()
        return max(1, math.ceil(left))

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        refused_unchecked = bool(request is not None and getattr(request, "axes_locked_out", 0))
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or refused_unchecked:
            # Refused during a lockout without a password check: not counted, not audited
            # again (the lockout itself was), so hammering cannot flood the audit log.
            return
        name = get_client_username(request, credentials)
        account = get_user_model().objects.filter(email__iexact=name).first() if name else None
        match = getattr(request, "resolver_match", None)
        details = {
            "entry": match.view_name if match is not None else "",
            "known_account": account is not None,
        }
        if request.axes_locked_out:
            audit_record(
                actor=None,
                action="login.locked_out",
                obj=account,
                request=request,
                reasons=self.lockout_reasons(request, credentials),
                **details,
            )
        else:
            audit_record(actor=None, action="login.failed", obj=account, request=request, **details)

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        # With a second factor still to come the login is not complete: resetting now would
        # let someone who knows the password guess codes a few at a time between logins.
        if two_factor_state(user) != "verify":
            forget_account_failures(user)


def forget_account_failures(user) -> None:
    """Delete the failures naming this account (from every address). Only with a name: axes'
    reset_attempts() without one deletes every tally there is."""
    name = normalise_username(user.get_username())
    if name:
        AxesProxyHandler.reset_attempts(username=name)


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed login attempts. To protect your account, please try again in "
        "%(count)d minute.",
        "Too many failed login attempts. To protect your account, please try again in "
        "%(count)d minutes.",
        minutes,
    ) % {"count": minutes}


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: HTTP 429 with Retry-After, a page in the visitor's language
    (Dutch first) or the API's JSON error shape."""
    seconds = getattr(request, _RETRY_AFTER_ATTR, None)
    if seconds is None:
        handler = AxesProxyHandler.get_implementation()
        seconds = (
            handler.seconds_left(request, credentials)
            if isinstance(handler, LoginAttemptHandler)
            else int(_cool_off().total_seconds())
        )
    message = lockout_message(seconds)
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {"detail": message, "code": "login_locked", "errors": {}}, status=429
        )
    else:
        response = HttpResponse(
            render_to_string("accounts/locked_out.html", {"message": message}, request=request),
            status=429,
        )
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response


# --- The second step (TOTP or backup code) ------------------------------------------------------


def second_factor_refusal(request: HttpRequest, *, user) -> HttpResponse | None:
    """Call before checking a code: the lockout answer while the account or the address is
    locked out or the account is over the attempts cap (this attempt is counted), else None."""
    if not settings.AXES_ENABLED:
        return None
    name = normalise_username(user.get_username())
    credentials = get_credentials(name)
    if not AxesProxyHandler.is_allowed(request, credentials):
        return lockout_response(request, None, credentials)
    wait = _account_attempts().hit_identity(name or "")
    if wait is not None:
        setattr(request, _RETRY_AFTER_ATTR, wait)
        return lockout_response(request, None, credentials)
    return None


def second_factor_failed(request: HttpRequest, *, user) -> None:
    """A wrong code counts like a wrong password. When it reaches a limit, the response is
    replaced by the lockout answer (axes' middleware)."""
    AxesProxyHandler.user_login_failed(
        sender=__name__,
        credentials=get_credentials(normalise_username(user.get_username())),
        request=request,
    )


def second_factor_passed(request: HttpRequest, *, user) -> None:
    """The login is complete: the account's failures are forgiven (not the address's)."""
    if settings.AXES_ENABLED:
        forget_account_failures(user)
