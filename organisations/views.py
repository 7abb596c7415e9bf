"""The organisation portal. Every view below (except the invitation link, which is guarded by
its signed token) goes through `portal_view`, and reads only through the organisation-scoped
selectors: a member of one organisation gets 404 for anything of another."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from api import services as api_services
from common.errors import RuleViolation
from participants import links as participant_links
from participants import services as participant_services
from payments import selectors as payment_selectors

from . import selectors, services
from .forms import (
    ApiTokenForm,
    AttendeeChangeForm,
    AttendeeForm,
    InvitationAcceptForm,
    InvitationForm,
    RoleForm,
    apply_rule_violation,
)
from .links import invitation_from_token
from .models import Membership
from .permissions import portal_view


def _language() -> str:
    return translation.get_language() or "nl"


def _dashboard(membership: Membership):
    return redirect("organisations:dashboard", organisation_id=membership.organisation_id)


def _booking(registration):
    return redirect(
        "organisations:booking",
        organisation_id=registration.organisation_id,
        registration_id=registration.pk,
    )


@login_required
def portal_index(request: HttpRequest) -> HttpResponse:
    memberships = list(selectors.membership_list_for_user(user=request.user))
    if len(memberships) == 1:
        return _dashboard(memberships[0])
    return render(request, "organisations/portal_index.html", {"memberships": memberships})


@portal_view()
def dashboard(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    organisation = membership.organisation
    return render(
        request,
        "organisations/dashboard.html",
        {
            "membership": membership,
            "organisation": organisation,
            "participations": selectors.participation_list(organisation=organisation),
            "event_groups": selectors.bookings_by_event(organisation=organisation),
        },
    )


def _attendee_form(registration, data=None) -> AttendeeForm:
    event = registration.event
    return AttendeeForm(
        data,
        ticket_types=event.ticket_types.filter(is_active=True),
        questions=event.questions.all(),
    )


@portal_view()
def booking_detail(request: HttpRequest, *, membership: Membership, registration_id: int):
    registration = selectors.registration_get(
        organisation=membership.organisation, pk=registration_id
    )
    return render(
        request,
        "organisations/booking.html",
        {
            "membership": membership,
            "organisation": membership.organisation,
            "registration": registration,
            "event": registration.event,
            "form": _attendee_form(registration),
            "changes_open": selectors.booking_changes_open(registration=registration),
            "checkout_url": _checkout_url(registration),
        },
    )


def _checkout_url(registration) -> str | None:
    """The pay page of a booking awaiting payment, only when paying online can work now."""
    if not payment_selectors.booking_payable_online(registration=registration):
        return None
    token = participant_links.booking_token(registration)
    return reverse("payments:checkout", kwargs={"token": token})


@portal_view()
@require_http_methods(["GET", "POST"])
def attendee_add(request: HttpRequest, *, membership: Membership, registration_id: int):
    registration = selectors.registration_get(
        organisation=membership.organisation, pk=registration_id
    )
    form = _attendee_form(registration, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            attendee = participant_services.AttendeeInput(
                name=form.cleaned_data["name"].strip(),
                email=form.cleaned_data["email"],
                ticket_type_id=form.cleaned_data["ticket_type"].pk,
                answers=form.answers(),
                language=_language(),
            )
            try:
                participant_services.ticket_add(registration=registration, attendee=attendee)
            except RuleViolation as exc:
                apply_rule_violation(form, exc)
                status = exc.http_status
            else:
                messages.success(request, _("%(name)s has been added.") % {"name": attendee.name})
                return _booking(registration)
    return render(
        request,
        "organisations/attendee_add.html",
        {
            "membership": membership,
            "organisation": membership.organisation,
            "registration": registration,
            "event": registration.event,
            "form": form,
        },
        status=status,
    )


@portal_view()
@require_http_methods(["GET", "POST"])
def ticket_change(request: HttpRequest, *, membership: Membership, ticket_id: int):
    ticket = selectors.ticket_get(organisation=membership.organisation, pk=ticket_id)
    initial = {"name": ticket.person.name, "email": ticket.person.email}
    form = AttendeeChangeForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                participant_services.ticket_update_attendee(
                    ticket=ticket,
                    actor="organisation",
                    name=form.cleaned_data["name"].strip(),
                    email=form.cleaned_data["email"],
                )
            except RuleViolation as exc:
                apply_rule_violation(form, exc)
                status = exc.http_status
            else:
                messages.success(request, _("The attendee has been changed."))
                return _booking(ticket.registration)
    return render(
        request,
        "organisations/ticket_change.html",
        {
            "membership": membership,
            "organisation": membership.organisation,
            "ticket": ticket,
            "registration": ticket.registration,
            "event": ticket.event,
            "form": form,
        },
        status=status,
    )


@portal_view()
@require_http_methods(["GET", "POST"])
def ticket_cancel(request: HttpRequest, *, membership: Membership, ticket_id: int):
    ticket = selectors.ticket_get(organisation=membership.organisation, pk=ticket_id)
    error = None
    status = 200
    if request.method == "POST":
        try:
            participant_services.ticket_cancel(ticket=ticket, actor="organisation")
        except RuleViolation as exc:
            error = exc.message
            status = exc.http_status
        else:
            messages.success(
                request,
                _("The ticket of %(name)s has been cancelled.") % {"name": ticket.person.name},
            )
            return _booking(ticket.registration)
    return render(
        request,
        "organisations/ticket_cancel.html",
        {
            "membership": membership,
            "organisation": membership.organisation,
            "ticket": ticket,
            "registration": ticket.registration,
            "event": ticket.event,
            "error": error,
        },
        status=status,
    )


def _members_context(membership: Membership, **extra) -> dict:
    organisation = membership.organisation
    members = list(selectors.member_list(organisation=organisation))
    is_admin = membership.role == Membership.Role.ADMIN
    return {
        "membership": membership,
        "organisation": organisation,
        "is_admin": is_admin,
        "members": [
            (m, RoleForm(initial={"role": m.role}, prefix=f"m{m.pk}") if is_admin else None)
            for m in members
        ],
        "invitations": selectors.invitation_list_open(organisation=organisation)
        if is_admin
        else [],
        "invite_form": extra.pop("invite_form", None) or (InvitationForm() if is_admin else None),
        **extra,
    }


@portal_view()
def members(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    return render(request, "organisations/members.html", _members_context(membership))


@portal_view(admin_only=True)
@require_POST
def member_invite(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = InvitationForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                organisation=membership.organisation,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
                language=_language(),
            )
        except RuleViolation as exc:
            apply_rule_violation(form, exc)
            status = exc.http_status
        else:
            messages.success(
                request,
                _("An invitation has been sent to %(email)s.") % {"email": invitation.email},
            )
            return redirect("organisations:members", organisation_id=membership.organisation_id)
    return render(
        request,
        "organisations/members.html",
        _members_context(membership, invite_form=form),
        status=status,
    )


@portal_view(admin_only=True)
@require_POST
def member_role(request: HttpRequest, *, membership: Membership, membership_id: int):
    target = selectors.member_get(organisation=membership.organisation, pk=membership_id)
    form = RoleForm(request.POST, prefix=f"m{target.pk}")
    if form.is_valid():
        try:
            services.membership_role_change(
                membership=target, role=form.cleaned_data["role"], changed_by=request.user
            )
        except RuleViolation as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("The role of %(name)s has been changed.") % {"name": target.user}
            )
    else:
        messages.error(request, _("Choose a valid role."))
    return redirect("organisations:members", organisation_id=membership.organisation_id)


@portal_view(admin_only=True)
@require_POST
def member_remove(request: HttpRequest, *, membership: Membership, membership_id: int):
    target = selectors.member_get(organisation=membership.organisation, pk=membership_id)
    try:
        services.membership_remove(membership=target, removed_by=request.user)
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(name)s is no longer a member of the organisation.") % {"name": target.user},
        )
    if target.user_id == request.user.pk and not selectors.membership_for_user(
        user=request.user, organisation_id=membership.organisation_id
    ):
        return redirect("organisations:portal")
    return redirect("organisations:members", organisation_id=membership.organisation_id)


def _tokens_context(membership: Membership, **extra) -> dict:
    return {
        "membership": membership,
        "organisation": membership.organisation,
        "tokens": selectors.api_token_list(organisation=membership.organisation),
        "form": extra.pop("form", None) or ApiTokenForm(),
        **extra,
    }


@never_cache
@portal_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    if request.method == "GET":
        return render(request, "organisations/api_tokens.html", _tokens_context(membership))
    form = ApiTokenForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            token, raw_key = api_services.api_token_create(
                organisation=membership.organisation,
                name=form.cleaned_data["name"],
                user=request.user,
            )
        except RuleViolation as exc:
            apply_rule_violation(form, exc)
            status = exc.http_status
        else:
            # Rendered, not redirected: the raw key exists only in this one response.
            return render(
                request,
                "organisations/api_tokens.html",
                _tokens_context(membership, new_token=token, raw_key=raw_key),
                status=201,
            )
    return render(
        request,
        "organisations/api_tokens.html",
        _tokens_context(membership, form=form),
        status=status,
    )


@portal_view(admin_only=True)
@require_POST
def api_token_revoke(request: HttpRequest, *, membership: Membership, token_id: int):
    token = selectors.api_token_get(organisation=membership.organisation, pk=token_id)
    api_services.api_token_revoke(token=token)
    messages.success(request, _("The key “%(name)s” has been revoked.") % {"name": token.name})
    return redirect("organisations:api_tokens", organisation_id=membership.organisation_id)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Guarded by the signed token instead of a membership: the visitor is not a member yet."""
    try:
        invitation = invitation_from_token(token)
    except RuleViolation as exc:
        return render(
            request, "organisations/invitation_accept.html", {"error": exc.message}, status=400
        )
    account_exists = selectors.user_exists_for_email(email=invitation.email)
    form = InvitationAcceptForm(request.POST or None) if not account_exists else None
    context = {"invitation": invitation, "account_exists": account_exists, "form": form}
    if invitation.accepted_at is not None:
        context["error"] = _("This invitation has already been used.")
        return render(request, "organisations/invitation_accept.html", context, status=400)
    if request.method == "POST":
        if form is not None and not form.is_valid():
            return render(request, "organisations/invitation_accept.html", context, status=400)
        data = form.cleaned_data if form is not None else {}
        try:
            membership = services.invitation_accept(
                invitation=invitation,
                user=request.user,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                password=data.get("password", ""),
            )
        except RuleViolation as exc:
            if form is not None and exc.errors:
                apply_rule_violation(form, exc)
            else:
                context["error"] = exc.message
            return render(
                request, "organisations/invitation_accept.html", context, status=exc.http_status
            )
        if request.user.pk != membership.user_id:
            # Only reached for a new account (an existing one must be logged in to accept); it
            # proved its address by opening the invitation mail.
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Welcome! You are now a member of %(organisation)s.")
            % {"organisation": membership.organisation.name},
        )
        return _dashboard(membership)
    context["next_query"] = urlencode({"next": request.get_full_path()})
    return render(request, "organisations/invitation_accept.html", context)
