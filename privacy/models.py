from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One organiser action: who (user id), what, on which object, when, from where.

    Deliberately ids only: the Django admin's LogEntry stores object reprs (names, e-mail
    addresses), which would outlive an erasure request. `details` holds ids, codes and counts;
    `privacy.audit.audit_record` drops anything else.
    """

    # A plain id, not a foreign key: the entry must survive the account being deleted.
    actor_id = models.PositiveIntegerField(_("actor (user id)"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=60)
    object_type = models.CharField(_("object type"), max_length=100, blank=True, default="")
    object_id = models.CharField(_("object id"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["actor_id", "-created_at"]),
            models.Index(fields=["action", "-created_at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class RetentionPolicy(models.Model):
    """How long personal data of an event's attendees is kept after the event ended.

    Lives here rather than on Event so privacy owns its rules; events without a policy use
    settings.PRIVACY_DEFAULT_RETENTION_DAYS.
    """

    event = models.OneToOneField(
        "events.Event",
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="retention_policy",
    )
    retention_days = models.PositiveIntegerField(_("keep personal data for (days after the end)"))

    class Meta:
        verbose_name = _("retention period")
        verbose_name_plural = _("retention periods")

    def __str__(self) -> str:
        return f"{self.event}: {self.retention_days}"
