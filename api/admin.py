from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, IdempotencyRecord
from .services import api_token_create, api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "organisation__name"]
    autocomplete_fields = ["organisation"]
    readonly_fields = [
        "prefix",
        "key_hash",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    fields = ["organisation", "name", *readonly_fields]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New keys go through the service so the hash is computed in one place; the raw key is
        # shown exactly once.
        token, raw_key = api_token_create(
            organisation=obj.organisation, name=obj.name, user=request.user
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            _("New API key: %(key)s. Copy it now: it is not stored and cannot be shown again.")
            % {"key": raw_key},
        )

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke(self, request, queryset):
        for token in queryset:
            api_token_revoke(token=token)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "organisation", "response_status", "created_at", "expires_at"]
    list_filter = ["response_status", "organisation"]
    search_fields = ["key"]
    ordering = ["-created_at"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
