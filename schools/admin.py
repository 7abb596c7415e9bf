from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.errors import RuleViolation

from . import services
from .models import (
    Ambassador,
    AvailabilityWindow,
    PreferredSlot,
    SchoolSession,
    SchoolSessionRequest,
    SessionFeedback,
    WorkField,
)


@admin.register(WorkField)
class WorkFieldAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "is_active"]
    list_filter = ["is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


class AvailabilityInline(admin.TabularInline):
    model = AvailabilityWindow
    extra = 1


@admin.register(Ambassador)
class AmbassadorAdmin(admin.ModelAdmin):
    list_display = ["person", "work_field", "max_sessions_per_month", "max_travel_km", "is_active"]
    list_filter = ["is_active", "work_field", "regions"]
    search_fields = ["person__name", "person__email"]
    autocomplete_fields = ["person", "user"]
    filter_horizontal = ["regions"]
    readonly_fields = ["secret", "created_at"]
    inlines = [AvailabilityInline]
    actions = ["send_personal_link"]

    @admin.action(description=_("Send the personal page link by e-mail"))
    def send_personal_link(self, request, queryset):
        for ambassador in queryset.select_related("person"):
            services.ambassador_link_send(ambassador=ambassador)
        self.message_user(
            request,
            ngettext(
                "%(count)d link has been sent.", "%(count)d links have been sent.", len(queryset)
            )
            % {"count": len(queryset)},
        )


@admin.register(AvailabilityWindow)
class AvailabilityWindowAdmin(admin.ModelAdmin):
    list_display = ["ambassador", "weekday", "date", "start_time", "end_time"]
    list_filter = ["weekday"]
    search_fields = ["ambassador__person__name"]


class SlotInline(admin.TabularInline):
    model = PreferredSlot
    extra = 0


@admin.register(SchoolSessionRequest)
class SchoolSessionRequestAdmin(admin.ModelAdmin):
    list_display = ["school", "education_level", "pupils", "status", "created_at"]
    list_filter = ["status", "education_level", "campaign"]
    search_fields = ["school__name", "school__brin_code", "contact__name", "contact__email"]
    raw_id_fields = ["school", "contact"]
    readonly_fields = ["secret", "client_key", "client_fingerprint", "created_at", "updated_at"]
    inlines = [SlotInline]

    def save_model(self, request, obj, form, change):
        # A status change goes through the service: only open <-> cancelled by hand (planned
        # and held follow from a session), and audited. Other fields are a plain save.
        if not (change and "status" in form.changed_data):
            return super().save_model(request, obj, form, change)
        status = obj.status
        obj.status = SchoolSessionRequest.objects.get(pk=obj.pk).status
        super().save_model(request, obj, form, change)
        try:
            services.school_request_status_set(
                school_request=obj, status=status, user=request.user, http_request=request
            )
        except RuleViolation as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
        return None


@admin.register(PreferredSlot)
class PreferredSlotAdmin(admin.ModelAdmin):
    list_display = ["request", "date", "start_time", "end_time"]
    list_filter = ["date", "request__status"]
    search_fields = ["request__school__name"]
    raw_id_fields = ["request"]


@admin.register(SchoolSession)
class SchoolSessionAdmin(admin.ModelAdmin):
    """Read mostly: planning, moving and cancelling go through the planning board (services)."""

    list_display = ["event", "ambassador", "status"]
    list_filter = ["status"]
    search_fields = ["request__school__name", "ambassador__person__name"]
    raw_id_fields = ["request", "event", "ambassador", "media_moment"]
    readonly_fields = ["request", "event", "ambassador", "status", "secret", "assigned_by"]


@admin.register(SessionFeedback)
class SessionFeedbackAdmin(admin.ModelAdmin):
    list_display = ["session", "role", "rating", "pupils_reached", "submitted_at"]
    list_filter = ["role", "rating"]
    search_fields = ["session__request__school__name"]
