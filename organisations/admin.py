from django.contrib import admin

from .models import Invitation, Membership, Organisation, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    ordering = ["code"]


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
