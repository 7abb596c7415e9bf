from django.contrib import admin

from .models import Mailing, Unsubscribe


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    """Read-only overview; mailings are written and sent on the mailing pages (services)."""

    list_display = ["subject_nl", "segment", "event", "status", "recipients_count", "sent_at"]
    list_filter = ["segment", "status"]
    search_fields = ["subject_nl", "subject_en"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Unsubscribe)
class UnsubscribeAdmin(admin.ModelAdmin):
    list_display = ["email_hash", "scope", "created_at"]
    list_filter = ["scope"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
