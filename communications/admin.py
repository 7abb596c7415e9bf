from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.errors import RuleViolation

from . import services
from .documents import certificate_revoke
from .models import Certificate, CertificateRun, OutboxMail


@admin.register(OutboxMail)
class OutboxMailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "template", "to_email", "status", "attempts", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["to_email", "key", "subject"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboxMail._meta.fields]
    list_select_related = ["event"]
    actions = ["resend"]

    def has_add_permission(self, request) -> bool:
        # Mails are only ever written by services, in the transaction that causes them.
        return False

    @admin.action(description=_("Send the selected mails again"))
    def resend(self, request, queryset):
        # The same service as the outbox page: failed mails are queued again, sent mails copied.
        done = 0
        for mail in queryset:
            try:
                queued = services.mail_resend(mail=mail)
            except RuleViolation as exc:
                self.message_user(request, f"{mail}: {exc.message}", level=messages.WARNING)
            else:
                done += 1
                from privacy.services import audit_record

                audit_record(
                    actor=request.user,
                    action="mail.resend",
                    obj=mail,
                    request=request,
                    queued_id=queued.pk,
                )
        self.message_user(
            request,
            ngettext("%(count)d mail queued again.", "%(count)d mails queued again.", done)
            % {"count": done},
        )


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "event", "issued_at", "revoked_at"]
    list_filter = ["kind", "revoked_at"]
    search_fields = ["code", "name"]
    list_select_related = ["event"]
    raw_id_fields = ["ticket", "participation", "run"]
    readonly_fields = ["code", "issued_at", "kind", "ticket", "participation", "event", "run"]

    def has_add_permission(self, request) -> bool:
        # Certificates are issued by communications.documents services only.
        return False

    def save_model(self, request, obj, form, change):
        # Revoking goes through the service: audited once, at the service's own time.
        if change and "revoked_at" in form.changed_data and obj.revoked_at is not None:
            obj.revoked_at = Certificate.objects.get(pk=obj.pk).revoked_at
            super().save_model(request, obj, form, change)
            revoked = certificate_revoke(certificate=obj, user=request.user, request=request)
            obj.revoked_at = revoked.revoked_at
            return
        super().save_model(request, obj, form, change)


@admin.register(CertificateRun)
class CertificateRunAdmin(admin.ModelAdmin):
    list_display = ["event", "kind", "status", "done", "failed", "total", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["event__title"]
    list_select_related = ["event"]
    readonly_fields = [f.name for f in CertificateRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
