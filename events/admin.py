from django.contrib import admin, messages

from common.errors import RuleViolation

from .models import Campaign, Event, Question, TicketType
from .services import event_save, ticket_type_delete, ticket_type_save


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
        # Every save goes through events.services.event_save: time/place changes and
        # cancellation reach attendees (updated or cancelled invitation), and each change is
        # in the audit log.
        try:
            event_save(
                event=obj,
                changed_fields=form.changed_data,
                created=not change,
                actor=request.user,
                request=request,
            )
        except RuleViolation as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)

    def save_formset(self, request, form, formset, change):
        # Ticket types through the services too, so they are audited; questions stay plain.
        if formset.model is not TicketType:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for ticket_type in formset.deleted_objects:
            ticket_type_delete(ticket_type=ticket_type, actor=request.user, request=request)
        for ticket_type in formset.new_objects:
            ticket_type_save(
                ticket_type=ticket_type, created=True, actor=request.user, request=request
            )
        for ticket_type, changed in formset.changed_objects:
            ticket_type_save(
                ticket_type=ticket_type,
                changed_fields=changed,
                actor=request.user,
                request=request,
            )
        formset.save_m2m()
        return None


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "event", "price_cents", "vat_rate", "capacity", "is_active"]
    list_filter = ["is_active", "event__kind"]
    search_fields = ["name", "event__title"]
    list_select_related = ["event"]
    ordering = ["event", "position"]

    def save_model(self, request, obj, form, change):
        ticket_type_save(
            ticket_type=obj,
            changed_fields=form.changed_data,
            created=not change,
            actor=request.user,
            request=request,
        )

    def delete_model(self, request, obj):
        ticket_type_delete(ticket_type=obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for ticket_type in queryset:
            ticket_type_delete(ticket_type=ticket_type, actor=request.user, request=request)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["label", "event", "kind", "required", "position"]
    list_filter = ["kind", "required"]
    search_fields = ["label", "event__title"]
    list_select_related = ["event"]
