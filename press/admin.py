from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.errors import RuleViolation
from common.validators import CleanTextFormMixin

from . import selectors, services
from .models import (
    Coverage,
    InterviewSlot,
    Journalist,
    MediaHook,
    MediaMoment,
    PressInvitation,
    PressMaterial,
    Spokesperson,
)


@admin.register(Journalist)
class JournalistAdmin(admin.ModelAdmin):
    list_display = (
        "person",
        "outlet",
        "media_type",
        "region",
        "legal_basis",
        "agreed_on",
        "removed_at",
    )
    list_filter = (
        "media_type",
        "region",
        "legal_basis",
        ("removed_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("person__name", "person__email", "outlet__name", "topics")
    raw_id_fields = ("person",)
    readonly_fields = ("removed_at", "removal_note")
    actions = ["remove_from_press_list"]

    @admin.action(description=_("Remove from the press list (on request)"))
    def remove_from_press_list(self, request, queryset):
        for journalist in queryset:
            # Who did it is in the audit log (by user id); the note on the row names no one.
            services.journalist_remove(
                journalist=journalist,
                note="removed by staff",
                user=request.user,
                request=request,
            )
        messages.success(request, _("Removed from the press list."))


@admin.register(Spokesperson)
class SpokespersonAdmin(admin.ModelAdmin):
    list_display = ("person", "role")
    list_filter = ("role",)
    search_fields = ("person__name", "person__email")
    raw_id_fields = ("person",)


class SlotForm(CleanTextFormMixin, forms.ModelForm):
    class Meta:
        model = InterviewSlot
        fields = ("moment", "spokesperson", "starts_at", "ends_at")

    def clean(self):
        # An early field error for the usual case; the service checks again under the lock.
        data = super().clean()
        spokesperson, starts, ends = (
            data.get("spokesperson"),
            data.get("starts_at"),
            data.get("ends_at"),
        )
        if spokesperson and starts and ends:
            if ends <= starts:
                self.add_error("ends_at", _("The end must be after the start."))
            elif self.instance.pk and self.instance.invitation_id and self.has_changed():
                self.add_error(
                    None, _("A journalist has booked this interview slot; it cannot be moved.")
                )
            elif selectors.slot_overlaps(
                spokesperson_id=spokesperson.pk,
                starts_at=starts,
                ends_at=ends,
                exclude_pk=self.instance.pk,
            ):
                self.add_error(
                    "starts_at", _("This spokesperson already has an interview at that time.")
                )
        return data


@admin.register(InterviewSlot)
class InterviewSlotAdmin(admin.ModelAdmin):
    form = SlotForm
    list_display = ("moment", "spokesperson", "starts_at", "ends_at", "invitation")
    list_filter = ("moment", "spokesperson__role")
    search_fields = ("moment__event__title", "spokesperson__person__name")

    def get_readonly_fields(self, request, obj=None):
        # A slot stays with its media moment; who booked it changes only through the
        # journalist's own link.
        return ("moment", "invitation") if obj else ("invitation",)

    def get_actions(self, request):
        # Bulk delete would drop booked interviews without telling the journalists.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.invitation_id is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # Every write goes through the services: the overlap check runs under the
        # spokesperson lock. SlotForm.clean already refused the usual conflicts; a rare race
        # lost here is reported instead of saved.
        try:
            if change:
                services.interview_slot_update(
                    slot=obj,
                    spokesperson=obj.spokesperson,
                    starts_at=obj.starts_at,
                    ends_at=obj.ends_at,
                    user=request.user,
                    request=request,
                )
                return None
            slot = services.interview_slot_create(
                moment=obj.moment,
                spokesperson=obj.spokesperson,
                starts_at=obj.starts_at,
                ends_at=obj.ends_at,
                user=request.user,
                request=request,
            )
        except RuleViolation as exc:
            messages.error(request, exc.message)
            return None
        obj.pk = slot.pk
        return None


@admin.register(MediaMoment)
class MediaMomentAdmin(admin.ModelAdmin):
    list_display = ("event", "sub_kind", "embargo_until")
    list_filter = ("sub_kind",)
    search_fields = ("event__title",)
    filter_horizontal = ("spokespersons",)
    raw_id_fields = ("event",)


@admin.register(PressInvitation)
class PressInvitationAdmin(admin.ModelAdmin):
    list_display = ("journalist", "moment", "status", "sent_at", "reminders_sent", "crew_size")
    list_filter = ("status", "moment")
    search_fields = (
        "journalist__person__name",
        "journalist__person__email",
        "moment__event__title",
    )
    readonly_fields = [f.name for f in PressInvitation._meta.fields]

    def has_add_permission(self, request):
        return False  # invitations are sent from the press pages (with a preview)


@admin.register(PressMaterial)
class PressMaterialAdmin(admin.ModelAdmin):
    # No file widget: the storage has no public URL; uploads go through the press page.
    list_display = ("title", "moment", "kind", "size", "download")
    list_filter = ("kind", "moment")
    search_fields = ("title", "moment__event__title")
    fields = ("moment", "kind", "title", "content_type", "size", "download")
    readonly_fields = ("moment", "content_type", "size", "download")

    def has_add_permission(self, request):
        return False

    # Deleting goes through the service: the file leaves the storage too, and it is audited.
    def delete_model(self, request, obj):
        services.press_material_delete(material=obj, user=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for material in queryset:
            services.press_material_delete(material=material, user=request.user, request=request)

    @admin.display(description=_("file"))
    def download(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("press:material_download", args=[obj.pk]), _("Download")
        )


@admin.register(MediaHook)
class MediaHookAdmin(admin.ModelAdmin):
    list_display = ("title", "starts_on", "ends_on", "campaign")
    list_filter = ("campaign",)
    search_fields = ("title",)


@admin.register(Coverage)
class CoverageAdmin(admin.ModelAdmin):
    list_display = ("outlet_name", "moment", "kind", "published_on", "estimated_reach")
    # By moment too: the staff overview links each moment's coverage here.
    list_filter = ("kind", "moment__event__campaign", "moment")
    search_fields = ("outlet_name", "url", "moment__event__title")

    def save_model(self, request, obj, form, change):
        # A new item goes through coverage_add (the API's rules, and the audit log); an edit of
        # an existing item is a plain save.
        if change:
            return super().save_model(request, obj, form, change)
        coverage = services.coverage_add(
            moment=obj.moment,
            outlet_name=obj.outlet_name,
            published_on=obj.published_on,
            url=obj.url,
            estimated_reach=obj.estimated_reach,
            kind=obj.kind,
            outlet=obj.outlet,
            user=request.user,
            request=request,
        )
        obj.pk = coverage.pk
        return None
