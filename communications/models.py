import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxMail(models.Model):
    """One outgoing e-mail, written in the same transaction as the change that causes it.

    `key` makes queueing idempotent: the same business fact never queues two mails.
    `template` names a mail template under templates/mail/; `context` holds only ids and
    plain values, so the sender loads fresh rows when it renders.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        RETRYING = "retrying", _("Retrying")
        FAILED = "failed", _("Failed")

    key = models.CharField(_("key"), max_length=200, unique=True)
    template = models.CharField(_("template"), max_length=100)
    context = models.JSONField(_("context"), default=dict, blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    to_email = models.EmailField(_("to"))
    to_name = models.CharField(_("recipient name"), max_length=200, blank=True, default="")
    language = models.CharField(_("language"), max_length=5, default="nl")
    event = models.ForeignKey(
        "events.Event",
        verbose_name=_("event"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mails",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    subject = models.CharField(_("subject"), max_length=300, blank=True, default="")
    message_id = models.CharField(_("message id"), max_length=200, blank=True, default="")
    # While `sending`, next_attempt_at is the end of the claim's lease (communications.sending):
    # the worker holding it renews it, the sweeper hands the row on once it has run out.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Who holds the current claim (host/pid/random): a worker that lost its lease (the sweeper
    # gave the row to another) sees another token under the row lock and does not send.
    claim_token = models.CharField(_("sender claim"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing mail")
        verbose_name_plural = _("outgoing mails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.template} -> {self.to_email} ({self.status})"


def new_verification_code() -> str:
    """12 characters from an unambiguous 32-letter alphabet: 60 bits, read out or typed easily."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def normalise_verification_code(value: str) -> str:
    """Accept what people type: lower case, spaces and the dashes of the printed grouping."""
    return "".join(ch for ch in (value or "").upper() if ch.isascii() and ch.isalnum())[:16]


class Certificate(models.Model):
    """A certificate of attendance (per checked-in ticket) or of campaign-week participation
    (per organisation), verifiable publicly by its code."""

    class Kind(models.TextChoices):
        ATTENDEE = "attendee", _("Attendee")
        ORGANISATION = "organisation", _("Organisation")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    event = models.ForeignKey(
        "events.Event",
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    ticket = models.ForeignKey(
        "participants.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="certificates",
    )
    participation = models.ForeignKey(
        "participants.CampaignParticipation",
        verbose_name=_("campaign participation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="certificates",
    )
    # The name as printed: the verification page must show what the paper says.
    name = models.CharField(_("name on the certificate"), max_length=200)
    language = models.CharField(_("language"), max_length=5, default="nl")
    code = models.CharField(
        _("verification code"), max_length=16, unique=True, default=new_verification_code
    )
    pdf = models.FileField(_("PDF"), upload_to="certificates/%Y/%m/", blank=True, default="")
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    run = models.ForeignKey(
        "communications.CertificateRun",
        verbose_name=_("run"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="certificates",
    )

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="attendee", ticket__isnull=False, participation__isnull=True)
                    | models.Q(
                        kind="organisation", ticket__isnull=True, participation__isnull=False
                    )
                ),
                name="certificate_subject_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["ticket"],
                condition=models.Q(ticket__isnull=False),
                name="certificate_once_per_ticket",
            ),
            models.UniqueConstraint(
                fields=["participation"],
                condition=models.Q(participation__isnull=False),
                name="certificate_once_per_participation",
            ),
        ]
        indexes = [models.Index(fields=["event", "kind"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def display_code(self) -> str:
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class CertificateRun(models.Model):
    """A bulk issue of certificates for an event (attendees) or a campaign week (organisations)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(
        "events.Event",
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="certificate_runs",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Certificate.Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    # A run is worked on by `lanes` tasks in parallel (one per document worker process); each
    # lane records itself here when it finds nothing left, and the last one marks the run done.
    lanes = models.PositiveSmallIntegerField(_("parallel tasks"), default=1)
    finished_lanes = models.JSONField(_("finished tasks"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("certificate run")
        verbose_name_plural = _("certificate runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(done__lte=models.F("total")), name="certificaterun_done_le_total"
            ),
            models.CheckConstraint(condition=models.Q(lanes__gte=1), name="certificaterun_lanes"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.kind} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * (self.done + self.failed) / self.total)
