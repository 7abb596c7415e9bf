"""The one gate of the organisation portal.

Every portal view is wrapped in `portal_view`: it requires a login, finds the caller's
membership of the organisation named in the URL (404 when there is none, so the existence of
other organisations is not revealed) and optionally requires the admin role (403). Views then
look up objects only through the organisation-scoped selectors in organisations/selectors.py.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from .models import Membership
from .selectors import membership_for_user


def portal_view(*, admin_only: bool = False) -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, organisation_id: int, **kwargs) -> HttpResponse:
            membership = membership_for_user(user=request.user, organisation_id=organisation_id)
            if membership is None:
                raise Http404
            if admin_only and membership.role != Membership.Role.ADMIN:
                raise PermissionDenied
            return view(request, membership=membership, **kwargs)

        wrapper.portal_admin_only = admin_only
        return wrapper

    return decorator
