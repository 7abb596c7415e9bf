"""`Authorization: Token <key>` authentication for organisation API tokens."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .services import api_token_authenticate


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
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: let other authenticators (or none) handle it
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as: Authorization: Token <your API key>.")
            )
        try:
            raw_key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from exc
        token = api_token_authenticate(raw_key=raw_key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("The API key is not valid or has been revoked.")
            )
        return TokenUser(token), token

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
