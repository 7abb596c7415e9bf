from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Segment(models.TextChoices):
    EVENT_ATTENDEES = "event_attendees", _("Attendees of an event (valid tickets)")
    CAMPAIGN_ORGANISATIONS = (
        "campaign_organisations",
        _("Organisations taking part in a campaign week"),
    )
    AMBASSADORS = "ambassadors", _("Ambassadors")
    PRESS = "press", _("Press list")


class Mailing(models.Model):
    """A non-transactional message from an organiser to a segment, sent through the outbox.

    The text is stored once; each recipient's copy is rendered at send time from the mailing
    and the placeholders in the outbox row, so the outbox holds no copy of the body.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        # Sent by the organiser; a worker is queuing the recipients' mails in batches.
        SENDING = "sending", _("Sending")
        # Every recipient's mail is in the outbox (delivery figures come from there).
        SENT = "sent", _("Sent")

    segment = models.CharField(_("recipients"), max_length=30, choices=Segment.choices)
    event = models.ForeignKey(
        "events.Event",
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mailings",
    )
    region = models.ForeignKey(
        "organisations.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Segment-specific filters that are not worth a column (e.g. the press list's filter).
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    subject_nl = models.CharField(_("subject (Dutch)"), max_length=200)
    body_nl = models.TextField(_("message (Dutch)"))
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True, default="")
    body_en = models.TextField(_("message (English)"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    recipients_count = models.PositiveIntegerField(_("recipients"), default=0)
    # Progress of the send job: recipients whose mail is in the outbox (<= recipients_count).
    recipients_done = models.PositiveIntegerField(_("recipients queued"), default=0)
    excluded_count = models.PositiveIntegerField(_("unsubscribed, not sent"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(segment__in=["event_attendees", "campaign_organisations"])
                | Q(event__isnull=False),
                name="mailing_event_segment_has_event",
            ),
        ]

    def __str__(self) -> str:
        return self.subject_nl

    def outbox_key_prefix(self) -> str:
        return f"mailing:{self.pk}:"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SENT:
            return 100
        if not self.recipients_count:
            return 0
        return min(99, self.recipients_done * 100 // self.recipients_count)


class Unsubscribe(models.Model):
    """Someone who asked not to receive mailings of a scope any more.

    Only a keyed hash of the address is stored: the list must outlive an erasure request (we
    must keep honouring the opt-out) without keeping the address itself.
    """

    ALL = "all"

    email_hash = models.CharField(_("e-mail address (hashed)"), max_length=64)
    scope = models.CharField(
        _("scope"),
        max_length=30,
        choices=[(ALL, _("All mailings")), *Segment.choices],
    )
    created_at = models.DateTimeField(_("unsubscribed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("unsubscription")
        verbose_name_plural = _("unsubscriptions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["email_hash", "scope"], name="unsubscribe_once"),
        ]

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.scope})"
