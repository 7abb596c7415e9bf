"""Certificate pages: public verification, and the organiser's bulk-run page (staff only)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.errors import RuleViolation
from common.permissions import CAMPAIGN_MANAGER, events_for, organiser_check, scope_events
from events.models import Event

from .documents import (
    certificate_get_by_code,
    certificate_run_start,
    certificate_verdict,
    run_counts,
)
from .models import Certificate, CertificateRun, normalise_verification_code

# Largest primary key (bigint). URL ids above it are "not found", never a database error.
MAX_ID = 2**63 - 1


def _require_staff(request: HttpRequest) -> None:
    # Administrators and campaign managers; the event is then looked up in events_for(user).
    organiser_check(request, CAMPAIGN_MANAGER)


def _bounded(pk: int) -> int:
    if pk > MAX_ID:
        raise Http404
    return pk


@require_http_methods(["GET"])
def certificate_verify_form(request: HttpRequest) -> HttpResponse:
    """A code typed into the form is sent on to its verification page (GET, shareable)."""
    raw = request.GET.get("code")
    error = ""
    if raw is not None:
        code = normalise_verification_code(raw)
        if code:
            return redirect("documents:certificate_verify", code=code)
        error = _("Enter the verification code printed on the certificate.")
    return render(
        request,
        "documents/verify.html",
        {"error": error, "value": raw or ""},
        status=400 if error else 200,
    )


@require_http_methods(["GET"])
def certificate_verify(request: HttpRequest, code: str) -> HttpResponse:
    certificate = certificate_get_by_code(code)
    if certificate is None:
        outcome, status = "unknown", 404
    else:
        outcome = certificate_verdict(certificate)
        status = 200
        if outcome != "valid":
            # Say no more than that: the holder of a revoked or invalid certificate is not
            # confirmed to anyone.
            status, certificate = 410, None
    return render(
        request,
        "documents/verify.html",
        {"outcome": outcome, "certificate": certificate, "code": code, "value": code},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def certificate_runs(request: HttpRequest, event_id: int) -> HttpResponse:
    _require_staff(request)
    event = get_object_or_404(events_for(request.user), pk=_bounded(event_id))
    kinds = [Certificate.Kind.ATTENDEE]
    if event.kind == Event.Kind.CAMPAIGN_WEEK:
        kinds = [Certificate.Kind.ORGANISATION]
    error = ""
    if request.method == "POST":
        try:
            run = certificate_run_start(
                event=event, kind=request.POST.get("kind", ""), user=request.user, request=request
            )
        except RuleViolation as exc:
            error = str(exc.message)
        else:
            return redirect("communications:certificate_run", run_id=run.pk)
    runs = CertificateRun.objects.filter(event=event).order_by("-created_at")[:20]
    return render(
        request,
        "documents/runs.html",
        {
            "event": event,
            "kinds": [(k, Certificate.Kind(k).label) for k in kinds],
            "runs": runs,
            "counts": run_counts(event=event, kind=kinds[0]),
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET"])
def certificate_run(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_staff(request)
    runs = scope_events(CertificateRun.objects.select_related("event"), request.user, field="event")
    run = get_object_or_404(runs, pk=_bounded(run_id))
    return render(
        request,
        "documents/run.html",
        {
            "run": run,
            "active": run.status in (CertificateRun.Status.QUEUED, CertificateRun.Status.RUNNING),
        },
    )
