from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Invitation, Membership, Organisation, Region


class RegionInUseFilter(admin.SimpleListFilter):
    """Regions without any organisation show where the campaign has no reach yet."""

    title = _("organisations")
    parameter_name = "in_use"

    def lookups(self, request, model_admin):
        return [("yes", _("With organisations")), ("no", _("Without organisations"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(organisations__isnull=False).distinct()
        if self.value() == "no":
            return queryset.filter(organisations__isnull=True)
        return queryset


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "organisation_count"]
    list_filter = [RegionInUseFilter]
    search_fields = ["code", "name"]
    ordering = ["code"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(organisation_count=Count("organisations"))

    @admin.display(description=_("organisations"), ordering="organisation_count")
    def organisation_count(self, region) -> int:
        return region.organisation_count


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "kvk_number",
        "brin_code",
        "sector",
        "region",
        "city",
        "listed_publicly",
    ]
    list_filter = ["kind", "sector", "size_band", "region", "listed_publicly"]
    search_fields = ["name", "kvk_number", "brin_code", "city", "postcode"]
    ordering = ["name"]
    list_select_related = ["region"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    list_select_related = ["user", "organisation"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "organisation__name"]
    autocomplete_fields = ["organisation", "invited_by", "accepted_by"]
    list_select_related = ["organisation"]
    readonly_fields = ["secret", "created_at", "accepted_at", "accepted_by"]
