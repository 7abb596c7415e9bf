from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from privacy.audit import audit_record

from .models import OrganiserRole, User

# The user fields that decide what an account may do: a change to any of them is audited.
PERMISSION_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


def _ids(related) -> list[int]:
    return sorted(related.values_list("pk", flat=True))


class AuditedDeleteMixin:
    """Deletes in the admin, one or a selection, each recorded by ``_audit_delete(request,
    obj)`` in the same transaction, before the row (and what cascades with it) is gone."""

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._audit_delete(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                self._audit_delete(request, obj)
            super().delete_queryset(request, queryset)


@admin.register(User)
class UserAdmin(AuditedDeleteMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "preferred_language"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "preferred_language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    # Audited in save_related, not save_model: groups and permissions (many-to-many) are only
    # saved there, and the entry should show the state after the save. The admin runs both in
    # one transaction. Field names and flags only: names and addresses stay out of the log.
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user = form.instance
        fields = sorted(name for name in form.changed_data if name in PERMISSION_FIELDS)
        if change and not fields:
            return
        audit_record(
            actor=request.user,
            action="user.permissions_change" if change else "user.create",
            obj=user,
            request=request,
            fields=fields,
            is_active=user.is_active,
            is_staff=user.is_staff,
            is_superuser=user.is_superuser,
            group_ids=_ids(user.groups),
        )

    @staticmethod
    def _audit_delete(request, user) -> None:
        # Recorded before the delete: the organiser roles go with the account (cascade).
        audit_record(
            actor=request.user,
            action="user.delete",
            obj=(User._meta.label_lower, user.pk),
            request=request,
            was_staff=user.is_staff,
            was_superuser=user.is_superuser,
            role_ids=_ids(user.organiser_roles),
        )


@admin.register(OrganiserRole)
class OrganiserRoleAdmin(AuditedDeleteMixin, admin.ModelAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["campaigns", "events"]

    # As for users: campaigns and events are many-to-many, saved in save_related.
    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and not form.changed_data:
            return
        role = form.instance
        audit_record(
            actor=request.user,
            action="organiser_role.update" if change else "organiser_role.create",
            obj=role,
            request=request,
            user_id=role.user_id,
            role=role.role,
            fields=sorted(form.changed_data),
            campaign_ids=_ids(role.campaigns),
            event_ids=_ids(role.events),
        )

    @staticmethod
    def _audit_delete(request, role) -> None:
        audit_record(
            actor=request.user,
            action="organiser_role.delete",
            obj=(OrganiserRole._meta.label_lower, role.pk),
            request=request,
            user_id=role.user_id,
            role=role.role,
        )
