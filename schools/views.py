"""Pages for schools (request, status), ambassadors (personal page), feedback and organisers.

Thin: parse the form, call one service or selector, render. Who may see what:
- a school only through the signed link to its own request;
- an ambassador through their signed personal link or their login, and only their own sessions;
- the planning board, session pages and statistics are for staff only (others: 403).
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from common.errors import RuleViolation
from common.permissions import user_is_organiser_admin
from common.ratelimit import RateLimit, check_limits
from participants.forms import apply_rule_violation, error_summary

from . import links, selectors, services
from .forms import (
    AssignForm,
    AvailabilityForm,
    CancelForm,
    FeedbackForm,
    RescheduleForm,
    SchoolRequestForm,
)
from .models import Ambassador, PreferredSlot, SchoolSession, SchoolSessionRequest

REQUEST_LIMITS = (
    RateLimit(scope="school-request", rate="20/h"),
    RateLimit(scope="school-request-email", rate="5/h", key="email", field="contact_email"),
)
LINK_LIMITS = (RateLimit(scope="schools-link", rate="60/h"),)


def _limited(*limits: RateLimit):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            blocked = check_limits(request, limits)
            return blocked if blocked is not None else view(request, *args, **kwargs)

        return wrapped

    return decorator


def staff_required(view):
    """Not logged in: to the login page. Logged in without staff rights: 403."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
        if not user_is_organiser_admin(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _language() -> str:
    return "en" if (get_language() or "nl").startswith("en") else "nl"


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "participants/invalid_link.html", status=404)


# --- Schools -----------------------------------------------------------------------------------


@_limited(*REQUEST_LIMITS)
@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest) -> HttpResponse:
    form = SchoolRequestForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            school_request = services.school_request_create(
                **form.service_kwargs(language=_language())
            )
        except RuleViolation as exc:
            apply_rule_violation(exc, form=form)
        else:
            messages.success(
                request,
                _("Thank you. We have received your request and sent a confirmation by e-mail."),
            )
            return redirect("schools:request_manage", token=links.request_token(school_request))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "schools/request_form.html",
        {"form": form, "errors": error_summary(form)},
        status=status,
    )


@_limited(*LINK_LIMITS)
@require_http_methods(["GET"])
def request_manage(request: HttpRequest, token: str) -> HttpResponse:
    try:
        school_request = links.request_from_token(token)
    except RuleViolation:
        return _invalid_link(request)
    session = (
        school_request.sessions.exclude(status=SchoolSession.Status.CANCELLED)
        .select_related("event", "ambassador__person", "ambassador__work_field")
        .first()
    )
    return render(
        request,
        "schools/request_manage.html",
        {"school_request": school_request, "slots": school_request.slots.all(), "session": session},
    )


# --- Ambassadors -------------------------------------------------------------------------------


def _ambassador_page(request, ambassador: Ambassador, *, token: str | None) -> HttpResponse:
    form = AvailabilityForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.availability_add(ambassador=ambassador, **form.service_kwargs())
        except RuleViolation as exc:
            apply_rule_violation(exc, form=form)
        else:
            messages.success(request, _("Your availability has been saved."))
            return redirect(request.path)
    return render(
        request,
        "schools/ambassador_page.html",
        {
            "ambassador": ambassador,
            "token": token,
            "form": form,
            "errors": error_summary(form),
            "windows": ambassador.availability.all(),
            "sessions": selectors.session_list(ambassador=ambassador),
        },
        status=400 if request.method == "POST" else 200,
    )


@_limited(*LINK_LIMITS)
@require_http_methods(["GET", "POST"])
def ambassador_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        ambassador = links.ambassador_from_token(token)
    except RuleViolation:
        return _invalid_link(request)
    return _ambassador_page(request, ambassador, token=token)


@require_http_methods(["GET", "POST"])
def ambassador_me(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("accounts:login"))
    ambassador = Ambassador.objects.filter(user=request.user, is_active=True).first()
    if ambassador is None:
        raise Http404
    return _ambassador_page(request, ambassador, token=None)


def _ambassador_from_request(request: HttpRequest, token: str | None) -> Ambassador:
    if token:
        return links.ambassador_from_token(token)
    ambassador = (
        Ambassador.objects.filter(user=request.user, is_active=True).first()
        if request.user.is_authenticated
        else None
    )
    if ambassador is None:
        raise RuleViolation(_("This link is invalid or has expired."), code="invalid_link")
    return ambassador


@_limited(*LINK_LIMITS)
@require_POST
def availability_remove(request: HttpRequest, window_id: int, token: str | None = None):
    try:
        ambassador = _ambassador_from_request(request, token)
    except RuleViolation:
        return _invalid_link(request)
    try:
        services.availability_remove(ambassador=ambassador, window_id=window_id)
    except RuleViolation:
        raise Http404 from None
    messages.success(request, _("The availability has been removed."))
    if token:
        return redirect("schools:ambassador_page", token=token)
    return redirect("schools:ambassador_me")


# --- Feedback ----------------------------------------------------------------------------------


@_limited(*LINK_LIMITS)
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    try:
        session, role = links.feedback_from_token(token)
    except RuleViolation:
        return _invalid_link(request)
    existing = session.feedback.filter(role=role).first()
    initial = (
        {
            "rating": existing.rating,
            "pupils_reached": existing.pupils_reached,
            "comments": existing.comments,
        }
        if existing
        else {}
    )
    form = FeedbackForm(data=request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.session_feedback_submit(session=session, role=role, **form.cleaned_data)
        except RuleViolation as exc:
            apply_rule_violation(exc, form=form)
        else:
            messages.success(request, _("Thank you for your feedback."))
            return redirect("schools:feedback", token=token)
    return render(
        request,
        "schools/feedback_form.html",
        {
            "session": session,
            "event": session.event,
            "role": role,
            "form": form,
            "errors": error_summary(form),
            "existing": existing,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Organisers --------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET"])
def board(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "schools/board.html",
        {
            "requests": selectors.open_requests(),
            "sessions": selectors.session_list().filter(status=SchoolSession.Status.PLANNED),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def request_plan(request: HttpRequest, request_id: int) -> HttpResponse:
    school_request = get_object_or_404(selectors.request_list(), pk=request_id)
    error = None
    if request.method == "POST":
        form = AssignForm(data=request.POST)
        if form.is_valid():
            ambassador = get_object_or_404(Ambassador, pk=form.cleaned_data["ambassador"])
            slot = get_object_or_404(
                PreferredSlot, pk=form.cleaned_data["slot"], request=school_request
            )
            try:
                session = services.school_session_assign(
                    request=school_request,
                    ambassador=ambassador,
                    slot=slot,
                    user=request.user,
                    http_request=request,
                )
            except RuleViolation as exc:
                error = exc.message
            else:
                messages.success(
                    request,
                    _(
                        "%(name)s is planned. The school and the ambassador have been sent "
                        "a confirmation."
                    )
                    % {"name": ambassador.person.name},
                )
                return redirect("schools:session_detail", session_id=session.pk)
        else:
            error = _("Choose a date for this ambassador.")
    suggestions = (
        selectors.ambassador_suggestions(request=school_request)
        if school_request.status == SchoolSessionRequest.Status.OPEN
        else []
    )
    return render(
        request,
        "schools/request_plan.html",
        {
            "school_request": school_request,
            "suggestions": suggestions,
            "error": error,
            "margin_minutes": int(selectors.travel_margin().total_seconds() // 60),
        },
        status=409 if error else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(selectors.session_list(), pk=session_id)
    reschedule = RescheduleForm(
        data=request.POST if request.POST.get("action") == "reschedule" else None
    )
    cancel = CancelForm(data=request.POST if request.POST.get("action") == "cancel" else None)
    error = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "reschedule" and reschedule.is_valid():
                data = reschedule.cleaned_data
                services.school_session_reschedule(
                    session=session,
                    on=data["date"],
                    start_time=data["start_time"],
                    end_time=data["end_time"],
                    user=request.user,
                    http_request=request,
                )
                messages.success(
                    request, _("The session has been moved; both sides get an updated invitation.")
                )
                return redirect(request.path)
            if action == "cancel" and cancel.is_valid():
                services.school_session_cancel(
                    session=session,
                    reopen=cancel.cleaned_data["reopen"],
                    user=request.user,
                    http_request=request,
                )
                messages.success(
                    request, _("The session has been cancelled; both sides have been told.")
                )
                return redirect("schools:board")
            if action == "media_moment":
                moment = services.school_session_media_moment_create(
                    session=session, user=request.user, http_request=request
                )
                messages.success(
                    request,
                    _("The media moment has been created. Choose the journalists to invite."),
                )
                # The press list filtered on the school's region: local and regional press.
                invite = reverse("press:staff_invite", kwargs={"pk": moment.pk})
                region_id = session.request.school.region_id
                return redirect(f"{invite}?region={region_id}" if region_id else invite)
            if action == "complete":
                services.school_session_complete(
                    session=session, user=request.user, http_request=request
                )
                messages.success(
                    request, _("The session is marked as held; feedback has been requested.")
                )
                return redirect(request.path)
        except RuleViolation as exc:
            if action == "reschedule":
                apply_rule_violation(exc, form=reschedule)
            else:
                error = exc.message
    return render(
        request,
        "schools/session_detail.html",
        {
            "session": session,
            "event": session.event,
            "reschedule": reschedule,
            "cancel": cancel,
            "error": error,
            "errors": error_summary(reschedule),
            "feedback": session.feedback.all(),
            "media_moment": selectors.linked_media_moment(session),
        },
        status=400 if request.method == "POST" else 200,
    )


@staff_required
@require_http_methods(["GET"])
def statistics(request: HttpRequest) -> HttpResponse:
    return render(request, "schools/statistics.html", {"stats": selectors.session_statistics()})
