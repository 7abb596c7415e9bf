"""Organiser back office: entry page, dashboards, exports. Staff only (permissions.py)."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from django.contrib import messages
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from common.errors import RuleViolation
from common.permissions import (
    ADMIN,
    CAMPAIGN_MANAGER,
    organiser_roles,
    user_has_confirmed_device,
)
from events.models import Event

from . import charts, selectors, services
from .exports import PreparedExport, csv_chunks, write_xlsx
from .forms import ExportForm
from .models import ExportJob
from .permissions import (
    campaigns_visible,
    is_organiser_admin,
    may_download_job,
    organiser_required,
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _url(name: str, **kwargs) -> str | None:
    """The URL if that page exists (other apps may not be installed), else None."""
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


# The organiser pages of one event that the back office links to, with the organiser roles that
# may open them (docs/permissions.md; each page checks the same rule through common.permissions).
# Every event the back office lists is one the user may manage (campaigns_visible), so the role
# decides and no query per link or per event is needed. Check-in staff may open the check-in page
# of their assigned events, but the back office refuses them (their links are in the menu), so on
# these pages the check-in link needs the manager roles like the others.
_MANAGERS = frozenset({ADMIN, CAMPAIGN_MANAGER})
_EVENT_PAGES = (
    (gettext_lazy("Dashboard"), "backoffice:event_dashboard", _MANAGERS),
    (gettext_lazy("Check-in"), "participants:event_checkin", _MANAGERS),
    (gettext_lazy("Certificates"), "communications:certificate_runs", _MANAGERS),
    (gettext_lazy("Payments"), "payments:event_payments", _MANAGERS),
)


def _event_pages_for(user, *, dashboard: bool = True) -> list[tuple[str, str]]:
    """(label, URL name) of the event pages this user's roles may open; once per request."""
    roles = organiser_roles(user)  # cached on the user: at most one query per request
    return [
        (label, name)
        for label, name, allowed in _EVENT_PAGES
        if roles & allowed and (dashboard or name != "backoffice:event_dashboard")
    ]


def _event_links(event: Event, pages: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(label, url) for label, name in pages if (url := _url(name, event_id=event.pk))]


def _general_links(user) -> list[tuple[str, str]]:
    candidates = [(_("Exports"), "backoffice:export")]
    if not user_has_confirmed_device(user):
        # Optional for campaign managers (administrators are sent there until they have one):
        # the back office is where an organiser finds the way to turn it on.
        candidates.append((_("Set up two-factor authentication"), "accounts:otp_setup"))
    if is_organiser_admin(user):
        # Administrator-only areas (common.permissions): not shown to campaign managers.
        candidates += [
            (_("Outbox (sent mail)"), "communications:outbox_list"),
            (_("School planning"), "schools:board"),
            (_("School session statistics"), "schools:statistics"),
            (_("Press and media moments"), "press:staff_moments"),
            (_("Media agenda"), "press:staff_hooks"),
            (_("Mailings"), "mailings:list"),
            (_("Audit log"), "privacy:audit_log"),
            (_("Retention of personal data"), "privacy:retention"),
            (_("Personal data requests"), "privacy:person"),
            (_("Django admin"), "admin:index"),
        ]
    return [(label, url) for label, name in candidates if (url := _url(name))]


@organiser_required
def index(request: HttpRequest) -> HttpResponse:
    campaigns = selectors.campaign_list_for(user=request.user).prefetch_related(
        Prefetch("events", queryset=Event.objects.order_by("starts_at", "id"))
    )
    pages = _event_pages_for(request.user)
    rows = [
        (campaign, [(event, _event_links(event, pages)) for event in campaign.events.all()])
        for campaign in campaigns
    ]
    return render(
        request,
        "backoffice/index.html",
        {
            "campaign_rows": rows,
            "general_links": _general_links(request.user),
            "jobs": selectors.export_job_list(user=request.user)[:10],
        },
    )


# Beyond this many days the chart keeps to the days with bookings (one point per day would
# be more points than the chart has pixels).
_CHART_MAX_DAYS = 3 * 366


def _running_total_per_day(cumulative: list[tuple]) -> list[tuple]:
    """(day, running total) for every day from the first booking to the last, so the chart's
    horizontal axis is time: a quiet week takes a week's width, not one step."""
    if not cumulative or (cumulative[-1][0] - cumulative[0][0]).days > _CHART_MAX_DAYS:
        return [(day, total) for day, _n, total in cumulative]
    totals = {day: total for day, _n, total in cumulative}
    day, last, total, points = cumulative[0][0], cumulative[-1][0], 0, []
    while day <= last:
        total = totals.get(day, total)
        points.append((day, total))
        day += timedelta(days=1)
    return points


def _dashboard(events) -> dict:
    """Every figure of a dashboard over a set of events, with its chart."""
    per_day = selectors.bookings_per_day(events=events)
    cumulative, running = [], 0
    for day, n in per_day:
        running += n
        cumulative.append((day, n, running))
    fill_events = selectors.fill_per_event(events=events)
    fill_types = selectors.fill_per_ticket_type(events=events)
    regions = selectors.organisations_by_region(events=events)
    sectors = selectors.organisations_by_sector(events=events)
    with_capacity = [row for row in fill_events if row.rate is not None]
    types_with_capacity = [row for row in fill_types if row.rate is not None]
    return {
        "bookings": cumulative,
        "bookings_total": running,
        "bookings_chart": charts.line_chart(
            [(day.strftime("%d-%m"), total) for day, total in _running_total_per_day(cumulative)],
            title=_("Bookings over time (running total)"),
        )
        if cumulative
        else None,
        "fill_events": fill_events,
        "fill_events_chart": charts.bar_chart(
            [(row.label, row.rate) for row in with_capacity],
            title=_("Fill rate per event"),
            unit="%",
            max_value=100,
        )
        if with_capacity
        else None,
        "fill_types": fill_types,
        "fill_types_chart": charts.bar_chart(
            [(f"{row.label} ({row.event_title})", row.rate) for row in types_with_capacity],
            title=_("Fill rate per ticket type"),
            unit="%",
            max_value=100,
        )
        if types_with_capacity
        else None,
        "waiting": selectors.waiting_list_figures(events=events),
        "checkin": selectors.checkin_figures(events=events),
        "certificates": selectors.certificate_figures(events=events),
        "mail": selectors.mail_figures(events=events),
        "regions": regions,
        "regions_chart": charts.bar_chart(
            regions, title=_("Participating organisations per region")
        )
        if regions
        else None,
        "sectors": sectors,
        "sectors_chart": charts.bar_chart(
            sectors, title=_("Participating organisations per sector")
        )
        if sectors
        else None,
        "schools": selectors.school_figures(events=events),
        "press": selectors.press_response_figures(events=events),
        "coverage": selectors.coverage_figures(events=events),
    }


@organiser_required
def campaign_dashboard(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(campaigns_visible(request.user), pk=campaign_id)
    context = _dashboard(selectors.events_of_campaign(campaign=campaign))
    context.update(campaign=campaign, scope_title=campaign.name)
    return render(request, "backoffice/dashboard.html", context)


@organiser_required
def event_dashboard(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(
        Event.objects.select_related("campaign").filter(
            campaign__in=campaigns_visible(request.user)
        ),
        pk=event_id,
    )
    context = _dashboard(selectors.events_of_event(event=event))
    context.update(
        event=event,
        campaign=event.campaign,
        scope_title=event.title,
        event_links=_event_links(event, _event_pages_for(request.user, dashboard=False)),
    )
    return render(request, "backoffice/dashboard.html", context)


def _filename(prepared: PreparedExport, fmt: str) -> str:
    return f"{prepared.slug}-{timezone.localdate():%Y%m%d}.{fmt}"


def _stream(prepared: PreparedExport, fmt: str) -> HttpResponse:
    filename = _filename(prepared, fmt)
    if fmt == ExportJob.Format.CSV:
        response = StreamingHttpResponse(
            csv_chunks(prepared.headers, prepared.rows()), content_type="text/csv; charset=utf-8"
        )
    else:
        # XLSX is a zip whose directory comes last: it is written to a temporary file (in
        # constant memory) and streamed from there; the name is unlinked at once, the open
        # handle keeps the data until the response is closed.
        handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
        handle.close()
        path = Path(handle.name)
        try:
            write_xlsx(path, prepared.headers, prepared.rows())
            stream = path.open("rb")
        finally:
            os.unlink(path)
        response = FileResponse(stream, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _int_or_none(value) -> int | None:
    return value.pk if value is not None else None


@organiser_required
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ExportForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.export_request(
                    user=request.user,
                    kind=data["kind"],
                    fmt=data["format"],
                    campaign_id=_int_or_none(data["campaign"]),
                    event_id=_int_or_none(data["event"]),
                    language=data["language"],
                    request=request,
                )
            except RuleViolation as exc:
                for field, errors in (exc.errors or {}).items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                if not exc.errors:
                    form.add_error(None, str(exc))
            else:
                if isinstance(result, ExportJob):
                    messages.info(
                        request,
                        _("This export is large: it is being prepared in the background."),
                    )
                    return redirect("backoffice:export_job", job_id=result.pk)
                return _stream(result, data["format"])
        status = 400
    else:
        form = ExportForm(initial=request.GET.dict(), user=request.user)
        status = 200
    return render(
        request,
        "backoffice/export.html",
        {
            "form": form,
            "jobs": selectors.export_job_list(user=request.user),
            "threshold": services.export_sync_max_rows(),
        },
        status=status,
    )


def _job_for(request: HttpRequest, job_id: int) -> ExportJob:
    job = get_object_or_404(ExportJob.objects.select_related("requested_by"), pk=job_id)
    if not may_download_job(request.user, job):
        raise Http404  # no hint that someone else's export exists
    return job


@organiser_required
def export_job(request: HttpRequest, job_id: int) -> HttpResponse:
    return render(request, "backoffice/export_job.html", {"job": _job_for(request, job_id)})


@organiser_required
def export_download(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job_for(request, job_id)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    content_type = "text/csv; charset=utf-8" if job.format == "csv" else XLSX_TYPE
    try:
        stream = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None  # removed by the clean-up (services.export_files_delete)
    services.export_job_download_record(user=request.user, job=job, request=request)
    response = FileResponse(
        stream,
        content_type=content_type,
        as_attachment=True,
        filename=Path(job.file.name).name.split("-", 1)[1],
    )
    response["Cache-Control"] = "no-store"
    return response
