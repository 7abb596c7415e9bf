"""Public pages: booking, waiting list, campaign-week sign-up and the personal signed links.

Views stay thin: parse the form, call ONE service from participants.services, render or
redirect. A RuleViolation from a service is shown next to the fields it is about; nothing is
changed then. Personal pages are reached only through signed tokens (participants.links);
an unknown, tampered or expired token shows a friendly "link not valid" page with status 404.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.urls.exceptions import NoReverseMatch
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.errors import RuleViolation
from common.ratelimit import RateLimit, check_limits
from communications.renderers.attachments import render_attachment
from events.models import Event, TicketType
from events.selectors import public_event_list
from participants import links, selectors, services
from participants.forms import (
    AttendeeNameForm,
    BookerForm,
    ParticipationFilterForm,
    ParticipationForm,
    WaitlistForm,
    apply_rule_violation,
    attendee_formset_class,
    error_summary,
)
from participants.models import CampaignParticipation, Registration, Ticket, WaitingListEntry
from payments import selectors as payment_selectors

ATTENDEE_PREFIX = "attendees"

# Rate limits on the public POSTs (only POST counts; showing a form is never limited). The
# booking IP limit is generous: an employer adding 25 attendees without JavaScript posts the
# form once per "add attendee". The e-mail limits stop one mailbox being flooded with mail.
BOOKING_LIMITS = (
    RateLimit(scope="booking", rate="120/h"),
    RateLimit(scope="booking-email", rate="60/h", key="email", field="booker_email"),
)
SIGNUP_LIMITS = (
    RateLimit(scope="signup", rate="30/h"),
    RateLimit(scope="signup-email", rate="10/h", key="email", field="contact_email"),
)
WAITLIST_LIMITS = (
    RateLimit(scope="waitlist", rate="30/h"),
    RateLimit(scope="waitlist-email", rate="10/h", key="email", field="email"),
)
# Changes through personal links send mail too; a token holder has no reason for more.
LINK_LIMITS = (RateLimit(scope="personal-link", rate="60/h"),)


def _limited(*limits: RateLimit):
    """Count the request against every limit (no short-circuit) before the view runs."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            blocked = check_limits(request, limits)
            return blocked if blocked is not None else view(request, *args, **kwargs)

        return wrapped

    return decorator


SOLD_OUT_CODES = ("sold_out", "ticket_type_sold_out")


def _language() -> str:
    return "en" if (get_language() or "nl").startswith("en") else "nl"


def _public_event(slug: str) -> Event:
    return get_object_or_404(public_event_list().select_related("campaign"), slug=slug)


def _changes_allowed(event: Event) -> bool:
    """Whether the personal pages offer change/cancel buttons. Display only: the services
    check the deadline again when the button is pressed."""
    deadline = event.cancellation_deadline or event.starts_at
    return timezone.now() < deadline and event.status != Event.Status.CANCELLED


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "participants/invalid_link.html", status=404)


def _checkout_url(token: str) -> str | None:
    try:
        return reverse("payments:checkout", kwargs={"token": token})
    except NoReverseMatch:
        # Payments may not be installed in this deployment; the page then explains by text.
        return None


# --- Booking ------------------------------------------------------------------------------


def _ticket_types(event: Event):
    return TicketType.objects.filter(event=event, is_active=True).order_by("position", "name")


def _attendee_formset(event: Event, *, availability, data=None, initial=None):
    formset_class = attendee_formset_class(event)
    return formset_class(
        data=data,
        initial=initial,
        prefix=ATTENDEE_PREFIX,
        form_kwargs={
            "event": event,
            "ticket_types": _ticket_types(event),
            "questions": list(event.questions.all()),
            "sold_out_ids": {r.ticket_type.pk for r in availability.ticket_types if r.sold_out},
        },
    )


def _submitted_values(form) -> dict:
    """What the user typed, without validating (no error messages for a half-filled form)."""
    return {name: form[name].value() for name in form.fields}


@_limited(*BOOKING_LIMITS)
@require_http_methods(["GET", "POST"])
def booking_create(request: HttpRequest, slug: str) -> HttpResponse:
    event = _public_event(slug)
    availability = selectors.event_availability_get(event=event)
    context = {"event": event, "availability": availability}
    if not event.registration_is_open() or not availability.ticket_types:
        return _render_closed(request, event, availability)
    if request.method == "GET":
        if availability.sold_out:
            return redirect("participants:waitlist_join", slug=event.slug)
        booker_form = _booker_form()
        formset = _attendee_formset(event, availability=availability)
        return _render_booking(request, context, booker_form, formset)

    booker_form = _booker_form(data=request.POST)
    formset = _attendee_formset(event, availability=availability, data=request.POST)
    if "add_attendee" in request.POST:
        # No-JavaScript "add another attendee": show the same values plus one empty row.
        booker_form = _booker_form(initial=_submitted_values(booker_form))
        # Capped: a hand-made TOTAL_FORMS must not make the page render hundreds of rows.
        rows = [_submitted_values(f) for f in formset.forms][: event.max_tickets_per_booking]
        if len(rows) < event.max_tickets_per_booking:
            rows.append({})
        else:
            messages.warning(
                request,
                _("A booking has at most %(n)s attendees.") % {"n": event.max_tickets_per_booking},
            )
        formset = _attendee_formset(event, availability=availability, initial=rows)
        return _render_booking(request, context, booker_form, formset)

    forms_valid = booker_form.is_valid() & formset.is_valid()
    if forms_valid and (refusal := _payment_refusal(booker_form, formset)):
        # A way to pay that cannot work now (online without a Stripe account): refused here,
        # next to the field, instead of a booking that can never be paid.
        booker_form.add_error("payment_method", refusal)
        forms_valid = False
    if forms_valid:
        attendees, row_map = _attendee_inputs(booker_form, formset)
        try:
            registration = services.registration_create(
                event=event,
                booker_name=booker_form.cleaned_data["booker_name"],
                booker_email=booker_form.cleaned_data["booker_email"],
                attendees=attendees,
                organisation_kvk=booker_form.cleaned_data.get("kvk_number") or "",
                organisation_name=booker_form.cleaned_data.get("organisation_name") or "",
                language=_language(),
                payment_method=_payment_method(booker_form, formset),
            )
        except RuleViolation as exc:
            if exc.code in SOLD_OUT_CODES:
                return _render_sold_out(request, event, exc, booker_form, formset)
            apply_rule_violation(exc, form=booker_form, formset=formset, row_map=row_map)
        else:
            token = links.booking_token(registration)
            return redirect("participants:booking_done", token=token)
    return _render_booking(request, context, booker_form, formset, status=400)


def _attendee_inputs(booker_form, formset):
    booker = booker_form.cleaned_data
    attendees = []
    row_map = []
    for index, form in enumerate(formset.forms):
        if index > 0 and form.is_blank():
            continue
        data = form.cleaned_data
        attendees.append(
            services.AttendeeInput(
                name=data.get("name", "").strip() or booker["booker_name"],
                email=data.get("email", "").strip() or booker["booker_email"],
                ticket_type_id=data["ticket_type"].pk,
                answers=form.answers(),
                language=_language(),
            )
        )
        row_map.append(index)
    return attendees, row_map


def _booker_form(**kwargs) -> BookerForm:
    # The public form books for an organisation when a KvK number is typed, so invoice is
    # offered; _payment_refusal checks the choice against what was typed.
    methods = payment_selectors.payment_methods_available(for_organisation=True)
    return BookerForm(payment_methods=methods, **kwargs)


def _has_paid_ticket(formset) -> bool:
    return any(
        not f.cleaned_data["ticket_type"].is_free
        for i, f in enumerate(formset.forms)
        if i == 0 or not f.is_blank()
    )


def _payment_method(booker_form, formset) -> str:
    if not _has_paid_ticket(formset):
        return "online"
    return booker_form.cleaned_data.get("payment_method") or "online"


def _payment_refusal(booker_form, formset) -> str | None:
    """Why the chosen way to pay cannot be used now (payments decides), or None."""
    if not _has_paid_ticket(formset):
        return None
    return payment_selectors.payment_method_refusal(
        method=_payment_method(booker_form, formset),
        for_organisation=bool(booker_form.cleaned_data.get("kvk_number")),
    )


def _render_closed(request, event, availability) -> HttpResponse:
    opens = event.registration_opens_at
    return render(
        request,
        "participants/booking_closed.html",
        {
            "event": event,
            "availability": availability,
            "opens_later": bool(opens and opens > timezone.now()),
        },
    )


def _render_booking(request, context, booker_form, formset, status=200):
    paid_ids = [
        str(row.ticket_type.pk)
        for row in context["availability"].ticket_types
        if not row.ticket_type.is_free
    ]
    context = {
        **context,
        "booker_form": booker_form,
        "formset": formset,
        "has_paid": bool(paid_ids),
        "paid_ticket_type_ids": ",".join(paid_ids),
        "errors": error_summary(booker_form, formset),
        "can_add": len(formset.forms) < context["event"].max_tickets_per_booking,
    }
    return render(request, "participants/booking_form.html", context, status=status)


def _render_sold_out(request, event, exc, booker_form, formset):
    first = formset.forms[0].cleaned_data
    waitlist_form = WaitlistForm(
        ticket_types=_ticket_types(event),
        initial={
            "name": booker_form.cleaned_data["booker_name"],
            "email": booker_form.cleaned_data["booker_email"],
            "ticket_type": first.get("ticket_type"),
        },
    )
    return render(
        request,
        "participants/waitlist_form.html",
        {
            "event": event,
            "form": waitlist_form,
            "sold_out_message": exc.message,
            "errors": [],
        },
        status=409,
    )


@require_GET
def booking_done(request: HttpRequest, token: str) -> HttpResponse:
    registration = _registration_or_none(token)
    if registration is None:
        return _invalid_link(request)
    return render(
        request,
        "participants/booking_done.html",
        _booking_context(registration, token),
    )


def _registration_or_none(token: str) -> Registration | None:
    try:
        return links.booking_from_token(token)
    except RuleViolation:
        return None


def _booking_context(registration: Registration, token: str) -> dict:
    tickets = list(selectors.ticket_list_for_registration(registration=registration))
    active = [t for t in tickets if t.status in Ticket.HOLDS_PLACE]
    open_booking = registration.status in selectors.ACTIVE_REGISTRATION_STATUSES
    return {
        "registration": registration,
        "event": registration.event,
        "tickets": tickets,
        "active_tickets": active,
        "token": token,
        "can_change": open_booking and bool(active) and _changes_allowed(registration.event),
        # "Pay now" only when paying online can work (payments.selectors).
        "checkout_url": _checkout_url(token)
        if payment_selectors.booking_payable_online(registration=registration)
        else None,
        "manage_url": reverse("participants:booking_manage", kwargs={"token": token}),
    }


# --- Booking management (the booker's personal link) ---------------------------------


@require_http_methods(["GET"])
def booking_manage(request: HttpRequest, token: str) -> HttpResponse:
    registration = _registration_or_none(token)
    if registration is None:
        return _invalid_link(request)
    return render(
        request, "participants/booking_manage.html", _booking_context(registration, token)
    )


def _booking_ticket(registration: Registration, ticket_id: int) -> Ticket:
    # Only tickets of this booking: a token never reaches another booking's attendees.
    return get_object_or_404(
        Ticket.objects.select_related("person", "event", "ticket_type"),
        pk=ticket_id,
        registration=registration,
    )


@_limited(*LINK_LIMITS)
@require_POST
def booking_ticket_rename(request: HttpRequest, token: str, ticket_id: int) -> HttpResponse:
    registration = _registration_or_none(token)
    if registration is None:
        return _invalid_link(request)
    ticket = _booking_ticket(registration, ticket_id)
    form = AttendeeNameForm(data=request.POST, prefix=f"t{ticket.pk}")
    if form.is_valid():
        try:
            services.ticket_update_attendee(ticket=ticket, name=form.cleaned_data["name"])
        except RuleViolation as exc:
            apply_rule_violation(exc, form=form)
        else:
            messages.success(request, _("The name has been changed."))
            return redirect("participants:booking_manage", token=token)
    context = _booking_context(registration, token)
    context.update(rename_form=form, rename_ticket_id=ticket.pk, errors=error_summary(form))
    return render(request, "participants/booking_manage.html", context, status=400)


@_limited(*LINK_LIMITS)
@require_http_methods(["GET", "POST"])
def booking_ticket_cancel(request: HttpRequest, token: str, ticket_id: int) -> HttpResponse:
    registration = _registration_or_none(token)
    if registration is None:
        return _invalid_link(request)
    ticket = _booking_ticket(registration, ticket_id)
    back = reverse("participants:booking_manage", kwargs={"token": token})
    if request.method == "POST":
        try:
            services.ticket_cancel(ticket=ticket, actor="booker")
        except RuleViolation as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("The ticket of %(name)s has been cancelled.") % {"name": ticket.person.name},
            )
        return redirect(back)
    kept = _checked_in([ticket])
    return render(
        request,
        "participants/cancel_confirm.html",
        {
            "event": registration.event,
            "tickets": [] if kept else [ticket],
            "kept_tickets": kept,
            "back_url": back,
            "allowed": ticket.status in Ticket.HOLDS_PLACE
            and _changes_allowed(ticket.event)
            and not kept,
        },
    )


@_limited(*LINK_LIMITS)
@require_http_methods(["GET", "POST"])
def booking_cancel(request: HttpRequest, token: str) -> HttpResponse:
    registration = _registration_or_none(token)
    if registration is None:
        return _invalid_link(request)
    back = reverse("participants:booking_manage", kwargs={"token": token})
    if request.method == "POST":
        try:
            services.registration_cancel(registration=registration, actor="booker")
        except RuleViolation as exc:
            messages.error(request, exc.message)
        else:
            kept = _checked_in(selectors.ticket_list_for_registration(registration=registration))
            if kept:
                messages.success(
                    request,
                    _(
                        "Your booking has been cancelled, except the tickets that have already "
                        "been checked in: %(names)s."
                    )
                    % {"names": ", ".join(t.person.name for t in kept)},
                )
            else:
                messages.success(request, _("Your booking has been cancelled."))
        return redirect(back)
    context = _booking_context(registration, token)
    # Checked-in tickets are kept by services.registration_cancel: say so before the booker
    # confirms, instead of listing them as cancelled.
    kept = _checked_in(context["active_tickets"])
    tickets = [t for t in context["active_tickets"] if t not in kept]
    return render(
        request,
        "participants/cancel_confirm.html",
        {
            "event": registration.event,
            "tickets": tickets,
            "kept_tickets": kept,
            "whole_booking": True,
            "back_url": back,
            "allowed": context["can_change"] and bool(tickets),
        },
    )


def _checked_in(tickets) -> list[Ticket]:
    return [t for t in tickets if t.status == Ticket.Status.VALID and t.checked_in_at]


# --- The attendee's personal link --------------------------------------------------------


def _ticket_or_none(token: str) -> Ticket | None:
    try:
        return links.ticket_from_token(token)
    except RuleViolation:
        return None


def _ticket_context(ticket: Ticket, token: str) -> dict:
    return {
        "ticket": ticket,
        "event": ticket.event,
        "token": token,
        "can_change": ticket.status in Ticket.HOLDS_PLACE and _changes_allowed(ticket.event),
    }


@_limited(*LINK_LIMITS)
@require_http_methods(["GET", "POST"])
def ticket_manage(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket_or_none(token)
    if ticket is None:
        return _invalid_link(request)
    context = _ticket_context(ticket, token)
    if request.method == "POST":
        form = AttendeeNameForm(data=request.POST)
        if form.is_valid():
            try:
                services.ticket_update_attendee(ticket=ticket, name=form.cleaned_data["name"])
            except RuleViolation as exc:
                apply_rule_violation(exc, form=form)
            else:
                messages.success(request, _("The name has been changed."))
                return redirect("participants:ticket_manage", token=token)
        context.update(form=form, errors=error_summary(form))
        return render(request, "participants/ticket_manage.html", context, status=400)
    context["form"] = AttendeeNameForm(initial={"name": ticket.person.name})
    return render(request, "participants/ticket_manage.html", context)


@require_GET
def ticket_document(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    """The attendee's own ticket as a PDF (with QR) or calendar file, from their personal link.
    Only a valid ticket has a usable QR code; reserved/cancelled tickets get no document."""
    ticket = _ticket_or_none(token)
    if ticket is None or ticket.status != Ticket.Status.VALID:
        return _invalid_link(request)
    if kind == "pdf":
        spec = {"type": "ticket_pdf", "ticket_id": ticket.pk}
    else:
        spec = {
            "type": "ics",
            "event_id": ticket.event_id,
            "method": "REQUEST",
            "ticket_id": ticket.pk,
        }
    filename, content, mimetype = render_attachment(spec)
    response = HttpResponse(content, content_type=mimetype)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # A personal document: never kept by shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


@_limited(*LINK_LIMITS)
@require_http_methods(["GET", "POST"])
def ticket_cancel(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket_or_none(token)
    if ticket is None:
        return _invalid_link(request)
    back = reverse("participants:ticket_manage", kwargs={"token": token})
    if request.method == "POST":
        try:
            services.ticket_cancel(ticket=ticket, actor="attendee")
        except RuleViolation as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your ticket has been cancelled."))
        return redirect(back)
    kept = _checked_in([ticket])
    return render(
        request,
        "participants/cancel_confirm.html",
        {
            "event": ticket.event,
            "tickets": [] if kept else [ticket],
            "kept_tickets": kept,
            "back_url": back,
            "allowed": _ticket_context(ticket, token)["can_change"] and not kept,
        },
    )


# --- Waiting list ------------------------------------------------------------------------


@_limited(*WAITLIST_LIMITS)
@require_http_methods(["GET", "POST"])
def waitlist_join(request: HttpRequest, slug: str) -> HttpResponse:
    event = _public_event(slug)
    ticket_types = _ticket_types(event)
    context = {"event": event, "errors": []}
    if not event.registration_is_open() or not ticket_types:
        return _render_closed(request, event, selectors.event_availability_get(event=event))
    form = WaitlistForm(data=request.POST or None, ticket_types=ticket_types)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.waitlist_join(
                event=event,
                ticket_type=form.cleaned_data["ticket_type"],
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                language=_language(),
            )
        except RuleViolation as exc:
            apply_rule_violation(exc, form=form)
        else:
            return render(
                request,
                "participants/waitlist_done.html",
                {"event": event, "entry": entry},
            )
    context.update(form=form, errors=error_summary(form))
    status = 400 if request.method == "POST" else 200
    return render(request, "participants/waitlist_form.html", context, status=status)


@_limited(*LINK_LIMITS)
@require_http_methods(["GET", "POST"])
def waitlist_offer(request: HttpRequest, token: str) -> HttpResponse:
    try:
        entry = links.waitlist_entry_from_token(token)
    except RuleViolation:
        return _invalid_link(request)
    if request.method == "POST":
        try:
            registration = services.waitlist_accept(entry=entry)
        except RuleViolation as exc:
            messages.error(request, exc.message)
            return redirect("participants:waitlist_offer", token=token)
        booking_token = links.booking_token(registration)
        return redirect("participants:booking_done", token=booking_token)
    offer_open = (
        entry.status == WaitingListEntry.Status.OFFERED
        and entry.offer_expires_at is not None
        and entry.offer_expires_at > timezone.now()
    )
    return render(
        request,
        "participants/waitlist_offer.html",
        {
            "entry": entry,
            "event": entry.event,
            "offer_open": offer_open,
            "position": selectors.waitlist_position_get(entry=entry),
        },
    )


# --- Campaign-week sign-up ----------------------------------------------------------------


def _campaign_week(slug: str) -> Event:
    return get_object_or_404(
        public_event_list().select_related("campaign"), slug=slug, kind=Event.Kind.CAMPAIGN_WEEK
    )


@_limited(*SIGNUP_LIMITS)
@require_http_methods(["GET", "POST"])
def participation_create(request: HttpRequest, slug: str) -> HttpResponse:
    event = _campaign_week(slug)
    if not event.registration_is_open():
        return render(request, "participants/participation_closed.html", {"event": event})
    form = ParticipationForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            participation = services.participation_create(
                event=event, **form.service_kwargs(language=_language())
            )
        except RuleViolation as exc:
            if exc.code == "already_participating":
                # The KvK number identifies the organisation, so that is the field to fix.
                form.add_error("kvk_number", str(exc.message))
            else:
                apply_rule_violation(exc, form=form)
        else:
            token = links.participation_token(participation)
            return redirect("participants:participation_done", token=token)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "participants/participation_form.html",
        {"event": event, "form": form, "errors": error_summary(form)},
        status=status,
    )


def _participation_page(request, token: str, *, done: bool) -> HttpResponse:
    try:
        participation = links.participation_from_token(token)
    except RuleViolation:
        return _invalid_link(request)
    activity_labels = dict(CampaignParticipation.Activity.choices)
    return render(
        request,
        "participants/participation_manage.html",
        {
            "participation": participation,
            "event": participation.event,
            "organisation": participation.organisation,
            "activities": [activity_labels.get(a, a) for a in participation.activities],
            "done": done,
        },
    )


@require_http_methods(["GET"])
def participation_done(request: HttpRequest, token: str) -> HttpResponse:
    return _participation_page(request, token, done=True)


@require_http_methods(["GET"])
def participation_manage(request: HttpRequest, token: str) -> HttpResponse:
    return _participation_page(request, token, done=False)


@require_http_methods(["GET"])
def participation_list(request: HttpRequest, slug: str) -> HttpResponse:
    event = _campaign_week(slug)
    filters = ParticipationFilterForm(data=request.GET or None)
    participations = selectors.participation_list_public(event=event)
    if filters.is_valid():
        if filters.cleaned_data.get("region"):
            participations = participations.filter(
                organisation__region=filters.cleaned_data["region"]
            )
        if filters.cleaned_data.get("sector"):
            participations = participations.filter(
                organisation__sector=filters.cleaned_data["sector"]
            )
    page = Paginator(participations, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "participants/participation_list.html",
        {
            "event": event,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
        },
    )
