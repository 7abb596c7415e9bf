from django.contrib import admin, messages

from common.errors import RuleViolation

from .models import Campaign, Event, Question, TicketType
from .services import NOTIFY_FIELDS, event_cancel, event_update


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class TicketTypeInline(admin.TabularInline):
    model = TicketType
    extra = 0


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "campaign", "kind", "starts_at", "capacity", "status", "revision"]
    list_filter = ["status", "kind", "campaign", "requires_approval"]
    search_fields = ["title", "slug", "venue_name"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]
    prepopulated_fields = {"slug": ["title"]}
    list_select_related = ["campaign"]
    readonly_fields = ["revision", "created_at", "updated_at"]
    inlines = [TicketTypeInline, QuestionInline]

    def save_model(self, request, obj, form, change):
        # Time/place changes and cancellation go through events.services so attendees get an
        # updated or cancelled calendar invitation; everything else is a plain save.
        moved = [name for name in form.changed_data if name in NOTIFY_FIELDS] if change else []
        cancel = change and "status" in form.changed_data and obj.status == Event.Status.CANCELLED
        if not moved and not cancel:
            return super().save_model(request, obj, form, change)
        old = Event.objects.get(pk=obj.pk)
        new_values = {name: getattr(obj, name) for name in moved}
        for name in moved:
            setattr(obj, name, getattr(old, name))
        if cancel:
            obj.status = old.status
        super().save_model(request, obj, form, change)
        try:
            if moved:
                event_update(event=obj, **new_values)
            if cancel:
                event_cancel(event=obj)
        except RuleViolation as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "price_cents", "vat_rate", "capacity", "is_active"]
    list_filter = ["is_active", "event__kind"]
    search_fields = ["name", "event__title"]
    list_select_related = ["event"]
    ordering = ["event", "position"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["label", "event", "kind", "required", "position"]
    list_filter = ["kind", "required"]
    search_fields = ["label", "event__title"]
    list_select_related = ["event"]
