"""Who may use the mailing and privacy pages: organiser administrators.

These pages show or change everyone's personal data (erasure, exports, mailing lists), so a
campaign manager or check-in staff member may not use them. The role checks live in
common/permissions.py; while that module is not installed, staff status is the check (as on
the outbox pages, which show the same personal data).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

try:
    from common.permissions import organiser_required as _roles_required
except ImportError:  # pragma: no cover - roles not installed
    _roles_required = None


def organiser_required(view):
    if _roles_required is not None:
        return _roles_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
