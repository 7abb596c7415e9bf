"""Organiser pages: audit log, retention (dry run), inzage export and erasure."""

import csv
import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.errors import RuleViolation

from . import selectors, services
from .forms import AuditFilterForm, ErasureForm, PersonSearchForm, RetentionPolicyForm
from .permissions import organiser_required

PAGE_SIZE = 50


class _Echo:
    def write(self, value):
        return value


def _audit_filters(form) -> dict:
    if not form.is_valid():
        return {}
    data = form.cleaned_data
    return {
        "actor_id": data["actor"].pk if data["actor"] else None,
        "action": data["action"],
        "date_from": data["date_from"],
        "date_to": data["date_to"],
    }


@organiser_required
def audit_log(request):
    form = AuditFilterForm(request.GET or None, actions=selectors.audit_actions())
    invalid = form.is_bound and not form.is_valid()
    entries = selectors.audit_list(**_audit_filters(form)) if not invalid else None
    if request.GET.get("format") == "csv" and entries is not None:
        services.audit_export_record(user=request.user, request=request, rows=entries.count())
        return _audit_csv(entries)
    page = Paginator(entries if entries is not None else [], PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(
        request,
        "privacy/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _audit_csv(entries):
    writer = csv.writer(_Echo())
    tz = timezone.get_current_timezone()

    def rows():
        yield writer.writerow(
            ["time", "actor_id", "action", "object_type", "object_id", "ip_address", "details"]
        )
        for entry in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    entry.created_at.astimezone(tz).isoformat(),
                    entry.actor_id or "",
                    entry.action,
                    entry.object_type,
                    entry.object_id,
                    entry.ip_address or "",
                    json.dumps(entry.details, sort_keys=True),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


@organiser_required
@require_http_methods(["GET", "POST"])
def retention(request):
    form = RetentionPolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.retention_policy_set(
                event=form.cleaned_data["event"],
                retention_days=form.cleaned_data["retention_days"],
                user=request.user,
                request=request,
            )
        except RuleViolation as exc:
            form.add_rule_errors(exc.errors)
        else:
            messages.success(request, _("The retention period has been saved."))
            return redirect("privacy:retention")
    reports = services.retention_run(dry_run=True)
    return render(
        request,
        "privacy/retention.html",
        {
            "form": form,
            "reports": reports,
            "default_days": services.default_retention_days(),
        },
        status=400 if form.errors else 200,
    )


@organiser_required
@require_http_methods(["GET", "POST"])
def person(request):
    """Search by e-mail: export (GET with format=json) or erase (POST)."""
    search = PersonSearchForm(request.GET or None)
    erase_form = ErasureForm(request.POST or None)
    summary = None
    if request.method == "POST":
        if erase_form.is_valid():
            try:
                result = services.person_erase(
                    email=erase_form.cleaned_data["email"], user=request.user, request=request
                )
            except RuleViolation as exc:
                erase_form.add_rule_errors(exc.errors or {"email": [str(exc.message)]})
            else:
                messages.success(
                    request,
                    _(
                        "The data has been erased: %(persons)s person records, %(mails)s mails, "
                        "%(invoices)s invoices."
                    )
                    % {
                        "persons": result.persons,
                        "mails": result.mails,
                        "invoices": result.invoices,
                    },
                )
                return redirect("privacy:person")
    elif search.is_valid():
        email = search.cleaned_data["email"]
        if request.GET.get("format") == "json":
            payload = services.person_export(email=email, user=request.user, request=request)
            response = HttpResponse(payload, content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="inzage.json"'
            response["Cache-Control"] = "no-store"
            return response
        data = selectors.person_data_export(email=email)
        summary = sorted((label, len(rows)) for label, rows in data["records"].items())
        erase_form = ErasureForm(initial={"email": email})
    status = 400 if (search.is_bound and search.errors) or erase_form.errors else 200
    return render(
        request,
        "privacy/person.html",
        {"search": search, "erase_form": erase_form, "summary": summary},
        status=status,
    )
