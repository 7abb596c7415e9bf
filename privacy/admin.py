from django.contrib import admin

from .models import AuditEntry, RetentionPolicy


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by services and never edited."""

    list_display = ["created_at", "actor_id", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action"]
    search_fields = ["action", "object_type", "object_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ["event", "retention_days"]
    autocomplete_fields = ["event"]
    search_fields = ["event__title"]
