from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.errors import RuleViolation
from common.validators import CleanTextFormMixin

from .checkin import ticket_check_in
from .models import Answer, CampaignParticipation, Person, Registration, Ticket, WaitingListEntry


class RejectReasonForm(CleanTextFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason (sent to the booker)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "organisation", "preferred_language", "created_at"]
    list_filter = ["preferred_language"]
    search_fields = ["name", "email", "organisation__name"]
    autocomplete_fields = ["organisation", "user"]
    list_select_related = ["organisation"]


class TicketInline(admin.TabularInline):
    model = Ticket
    extra = 0
    fields = ["person", "ticket_type", "status", "checked_in_at"]
    readonly_fields = ["checked_in_at"]
    autocomplete_fields = ["person"]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["code", "event", "organisation", "booker", "status", "created_at"]
    list_filter = ["status", "event__kind", "event"]
    search_fields = ["code", "booker__name", "booker__email", "organisation__name"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["event", "organisation", "booker"]
    list_select_related = ["event", "organisation", "booker"]
    readonly_fields = ["code", "secret", "created_at", "updated_at"]
    inlines = [TicketInline]
    actions = ["approve_bookings", "reject_bookings"]

    @admin.action(
        description=_("Approve selected bookings awaiting approval"), permissions=["change"]
    )
    def approve_bookings(self, request, queryset):
        from .services import registration_approve

        self._decide(request, queryset, registration_approve, approved=True)

    @admin.action(
        description=_("Reject selected bookings awaiting approval"), permissions=["change"]
    )
    def reject_bookings(self, request, queryset):
        """Two steps: first a page to give the reason (it goes into the mail to the booker),
        then the rejection itself."""
        from .services import registration_reject

        form = RejectReasonForm(request.POST if "confirm_reject" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"].strip()
            self._decide(
                request,
                queryset,
                lambda **kwargs: registration_reject(**kwargs, reason=reason),
                approved=False,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject bookings"),
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset,
            "pending": queryset.filter(status=Registration.Status.PENDING_APPROVAL),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/participants/registration/reject_bookings.html", context
        )

    def _decide(self, request, queryset, service, *, approved: bool) -> None:
        # One service call per booking: each is its own transaction, so one refusal (for
        # example no places left) does not undo the others; it is reported by booking code.
        pending = queryset.filter(status=Registration.Status.PENDING_APPROVAL)
        skipped = queryset.exclude(status=Registration.Status.PENDING_APPROVAL).count()
        changed = 0
        for registration in pending.select_related("event"):
            try:
                service(registration=registration, user=request.user)
            except RuleViolation as exc:
                self.message_user(request, f"{registration.code}: {exc.message}", messages.ERROR)
            else:
                changed += 1
                from privacy.services import audit_record

                audit_record(
                    actor=request.user,
                    action="booking.approve" if approved else "booking.reject",
                    obj=registration,
                    request=request,
                )
        if approved:
            text = ngettext("%(count)d booking approved.", "%(count)d bookings approved.", changed)
        else:
            text = ngettext("%(count)d booking rejected.", "%(count)d bookings rejected.", changed)
        self.message_user(request, text % {"count": changed}, messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d selected booking was not awaiting approval; it is unchanged.",
                    "%(count)d selected bookings were not awaiting approval; they are unchanged.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["person", "event", "ticket_type", "status", "checked_in_at", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["person__name", "person__email", "registration__code"]
    autocomplete_fields = ["registration", "event", "ticket_type", "person"]
    list_select_related = ["person", "event", "ticket_type"]
    # The check-in time is never typed in: it is set by participants.checkin (the action below),
    # which refuses outside the event's check-in window.
    readonly_fields = ["secret", "created_at", "checked_in_at"]
    inlines = [AnswerInline]
    actions = ["check_in"]

    @admin.action(description=_("Check in the selected tickets"), permissions=["change"])
    def check_in(self, request, queryset):
        # One service call per ticket, each its own transaction: a refusal (window not open,
        # already checked in) is reported per ticket and leaves the others as they are.
        done = 0
        for ticket in queryset.select_related("person", "event"):
            try:
                ticket_check_in(
                    secret=ticket.secret, event=ticket.event, user=request.user, request=request
                )
            except RuleViolation as exc:
                self.message_user(request, f"{ticket}: {exc.message}", messages.ERROR)
            else:
                done += 1
        self.message_user(
            request,
            ngettext("%(count)d ticket checked in.", "%(count)d tickets checked in.", done)
            % {"count": done},
            messages.SUCCESS,
        )


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["ticket", "question", "value"]
    list_filter = ["question__event", "question__kind"]
    search_fields = ["value", "question__label"]
    list_select_related = ["ticket__person", "ticket__event", "question"]
    autocomplete_fields = ["ticket"]


@admin.register(WaitingListEntry)
class WaitingListEntryAdmin(admin.ModelAdmin):
    list_display = ["person", "event", "ticket_type", "status", "offer_expires_at", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["person__name", "person__email"]
    autocomplete_fields = ["event", "ticket_type", "person", "organisation"]
    list_select_related = ["person", "event", "ticket_type"]
    ordering = ["event", "created_at"]


@admin.register(CampaignParticipation)
class CampaignParticipationAdmin(admin.ModelAdmin):
    list_display = ["organisation", "event", "contact", "employees_reached", "status", "created_at"]
    list_filter = ["status", "event", "organisation__region", "organisation__sector"]
    search_fields = ["organisation__name", "organisation__kvk_number", "contact__email"]
    autocomplete_fields = ["event", "organisation", "contact"]
    list_select_related = ["organisation", "event", "contact"]
