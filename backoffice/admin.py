from django.contrib import admin

from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Read-only: jobs are made by the export page and written by the worker; the file itself
    is downloaded through the back office (requester or administrator), not from here."""

    list_display = (
        "id",
        "kind",
        "format",
        "status",
        "rows_done",
        "rows_total",
        "requested_by",
        "created_at",
    )
    list_filter = ("status", "kind", "format")
    search_fields = ("requested_by__email", "kind")
    readonly_fields = [f.name for f in ExportJob._meta.fields if f.name != "file"]
    exclude = ("file",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
