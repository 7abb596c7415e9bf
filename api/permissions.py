from rest_framework.permissions import BasePermission

from .models import ApiToken


class HasOrganisationToken(BasePermission):
    """Only requests authenticated with an active organisation API token."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiToken) and request.auth.revoked_at is None
