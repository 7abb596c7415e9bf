"""The organiser's check-in page for one event: type or scan a ticket code, see the result."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.errors import RuleViolation
from common.middleware import DEFAULT_PERMISSIONS_POLICY, build_permissions_policy
from common.permissions import may_check_in
from events.models import Event

from .checkin import MAX_ID, checkin_counts, checkin_window, ticket_check_in


def _may_check_in(user, event: Event) -> bool:
    # Administrators, the event's campaign managers and its assigned check-in staff.
    return may_check_in(user, event)


@login_required
@require_http_methods(["GET", "POST"])
def event_checkin(request: HttpRequest, event_id: int) -> HttpResponse:
    if event_id > MAX_ID:
        raise Http404
    event = get_object_or_404(Event, pk=event_id)
    if not _may_check_in(request.user, event):
        raise PermissionDenied
    result = None
    status = 200
    if request.method == "POST":
        try:
            ticket = ticket_check_in(
                secret=request.POST.get("secret", ""),
                event=event,
                user=request.user,
                request=request,
            )
        except RuleViolation as exc:
            result = {"ok": False, "code": exc.code, "message": str(exc.message)}
            status = exc.http_status
        else:
            result = {
                "ok": True,
                "code": "checked_in",
                "message": _("Welcome, %(name)s!") % {"name": ticket.person.name},
                "ticket": ticket,
            }
    opens, closes = checkin_window(event)
    response = render(
        request,
        "checkin/checkin.html",
        {
            "event": event,
            "result": result,
            "counts": checkin_counts(event=event),
            "opens": opens,
            "closes": closes,
        },
        status=status,
    )
    # The only page that may use the camera (optional QR scanning in static/js/checkin.js);
    # the site-wide policy denies it everywhere else.
    response["Permissions-Policy"] = build_permissions_policy(
        {**DEFAULT_PERMISSIONS_POLICY, "camera": "(self)"}
    )
    return response
