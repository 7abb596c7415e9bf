"""`Authorization: Token <key>` authentication for organisation API tokens.

Keys that do not authenticate are counted per client address (common.ratelimit: the
proxy-aware address, IPv6 by /64; in the shared cache). Past INVALID_KEY_LIMIT the address gets
HTTP 429 with Retry-After and a JSON message instead of a 401 for every further wrong key, so
keys (and which prefixes exist or were revoked) cannot be probed at speed. A valid key is never
counted and never refused by this limit: the random part of a key is ~256 bits, so answering a
right key gives nothing away, and an integration sharing an office address with a broken or
hostile client keeps working.
"""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from common.ratelimit import RateLimit, rate_limited_message

from .services import api_token_authenticate

# Wrong keys per client address (any scheme in the Authorization header: a "Bearer" or "Basic"
# credential is refused here too, so it is a wrong guess as well).
INVALID_KEY_LIMIT = RateLimit(scope="api-invalid-key", rate="20/10m")


class TooManyInvalidKeys(exceptions.APIException):
    """429 in the API's error shape; DRF's handler sends Retry-After from `wait`. (Not DRF's
    Throttled: it appends an English sentence of its own to the message.)"""

    status_code = 429
    default_code = "rate_limited"

    def __init__(self, wait: int) -> None:
        self.wait = wait
        message = _("The API key is not valid or has been revoked.")
        super().__init__(detail=f"{message} {rate_limited_message(wait)}", code="rate_limited")


class TokenUser(AnonymousUser):
    """The caller of a token request: not a person, but authenticated for DRF's permission
    checks. The organisation is on request.auth (the ApiToken)."""

    def __init__(self, token) -> None:
        super().__init__()
        self.token = token

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_authenticated(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"API token {self.token.prefix}"


class OrganisationTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None  # no credentials at all: DRF answers 401 not_authenticated
        if header[0].lower() != self.keyword.lower().encode() or len(header) != 2:
            self.count_invalid_key(request)
            raise exceptions.AuthenticationFailed(
                _("Send the header as: Authorization: Token <your API key>.")
            )
        try:
            raw_key = header[1].decode()
        except UnicodeError as exc:
            self.count_invalid_key(request)
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from exc
        token = api_token_authenticate(raw_key=raw_key)
        if token is None:
            self.count_invalid_key(request)
            raise exceptions.AuthenticationFailed(
                _("The API key is not valid or has been revoked.")
            )
        return TokenUser(token), token

    @staticmethod
    def count_invalid_key(request) -> None:
        """Count one wrong key for the client's address; over the limit, refuse with 429."""
        wait = INVALID_KEY_LIMIT.hit_identity(INVALID_KEY_LIMIT.identity(request))
        if wait is not None:
            raise TooManyInvalidKeys(wait)

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with this challenge) instead of 403 when no key is sent.
        return self.keyword


class OrganisationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.OrganisationTokenAuthentication"
    name = "organisationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An organisation API key, sent as "Token <key>".',
        }
