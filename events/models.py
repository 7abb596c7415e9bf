from decimal import Decimal

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    """A recurring campaign such as "Check je Werkstress" or "Ik Zorg"; editions are events."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    class Kind(models.TextChoices):
        CAMPAIGN_WEEK = "campaign_week", _("Campaign week")
        CONGRESS = "congress", _("Congress")
        SCHOOL_SESSION = "school_session", _("School information session")
        MEDIA_MOMENT = "media_moment", _("Media moment")
        TRAINING = "training", _("Training")
        WEBINAR = "webinar", _("Webinar or online work visit")
        INTERVISION = "intervision", _("Intervision meeting")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    # Kinds that are never shown publicly, in any status (events.selectors.public_event_list):
    # a school session's event carries the school's address, the pupils' level and number and
    # the ambassador's name; an intervision meeting belongs to a closed group.
    PRIVATE_KINDS = (Kind.SCHOOL_SESSION, Kind.INTERVISION)

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True, default="")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    venue_name = models.CharField(_("venue"), max_length=200, blank=True, default="")
    venue_address = models.CharField(_("venue address"), max_length=300, blank=True, default="")
    online_url = models.URLField(_("online link"), blank=True, default="")
    capacity = models.PositiveIntegerField(
        _("capacity"), null=True, blank=True, help_text=_("Empty means no limit.")
    )
    registration_opens_at = models.DateTimeField(_("registration opens"), null=True, blank=True)
    registration_closes_at = models.DateTimeField(_("registration closes"), null=True, blank=True)
    cancellation_deadline = models.DateTimeField(
        _("attendees may change or cancel until"), null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    requires_approval = models.BooleanField(_("bookings need approval"), default=False)
    allow_duplicate_emails = models.BooleanField(
        _("one e-mail address may hold several tickets"), default=False
    )
    max_tickets_per_booking = models.PositiveIntegerField(
        _("maximum attendees per booking"), default=25
    )
    payment_hold_minutes = models.PositiveIntegerField(
        _("minutes places are held while paying"), default=20
    )
    waitlist_offer_hours = models.PositiveIntegerField(
        _("hours a waiting-list offer stays open"), default=48
    )
    # The refund policy for paid tickets cancelled before the cancellation deadline (applied by
    # payments.services.tickets_cancelled): per ticket, price x percent / 100 minus the fee,
    # never below zero. The defaults (100%, no fee) are a full refund.
    refund_percent = models.PositiveSmallIntegerField(
        _("refund on cancellation (percentage of the ticket price)"),
        default=100,
        validators=[MaxValueValidator(100)],
        help_text=_("100 is a full refund, 0 is no refund."),
    )
    refund_fee_cents = models.PositiveIntegerField(
        _("cancellation fee per ticket (cents, incl. VAT)"),
        default=0,
        help_text=_("Kept from the refund of every cancelled paid ticket."),
    )
    # When the event was first published (set by save()). A cancelled event stays public only
    # if it had been published: a draft that is cancelled never becomes visible.
    published_at = models.DateTimeField(_("first published"), null=True, blank=True, editable=False)
    # Incremented on every change attendees must hear about; it is the iCalendar SEQUENCE.
    revision = models.PositiveIntegerField(_("revision"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["starts_at", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="event_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(registration_opens_at__isnull=True)
                | Q(registration_closes_at__isnull=True)
                | Q(registration_closes_at__gt=F("registration_opens_at")),
                name="event_registration_window_order",
            ),
            models.CheckConstraint(
                condition=Q(max_tickets_per_booking__gte=1), name="event_max_tickets_positive"
            ),
            models.CheckConstraint(
                condition=Q(refund_percent__gte=0) & Q(refund_percent__lte=100),
                name="event_refund_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(refund_fee_cents__gte=0), name="event_refund_fee_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["status", "starts_at"]), models.Index(fields=["kind"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # Every way an event becomes published (the admin, a service, a fixture) passes here,
        # so "was it ever published" cannot be forgotten by one of them.
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "published_at"}
        super().save(*args, **kwargs)

    @property
    def is_online(self) -> bool:
        return bool(self.online_url) and not self.venue_name

    @property
    def refund_is_full(self) -> bool:
        """Whether a cancelled paid ticket gets its whole price back."""
        return self.refund_percent >= 100 and self.refund_fee_cents <= 0

    def registration_is_open(self, at=None) -> bool:
        at = at or timezone.now()
        if self.status != self.Status.PUBLISHED:
            return False
        if self.registration_opens_at and at < self.registration_opens_at:
            return False
        closes = self.registration_closes_at or self.starts_at
        return at < closes


class TicketType(models.Model):
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="ticket_types"
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True, default="")
    price_cents = models.PositiveIntegerField(_("price (cents, incl. VAT)"), default=0)
    vat_rate = models.DecimalField(
        _("VAT rate (%)"), max_digits=4, decimal_places=2, default=Decimal("21.00")
    )
    capacity = models.PositiveIntegerField(
        _("own capacity"), null=True, blank=True, help_text=_("Empty means only the event limit.")
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")
        ordering = ["event", "position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "name"], name="tickettype_name_unique_per_event"
            ),
            models.CheckConstraint(
                condition=Q(vat_rate__gte=0) & Q(vat_rate__lte=100), name="tickettype_vat_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.name}"

    @property
    def is_free(self) -> bool:
        return self.price_cents == 0


class Question(models.Model):
    """A custom question an event asks every attendee."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        CHOICE = "choice", _("Choice")
        YES_NO = "yes_no", _("Yes or no")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="questions"
    )
    label = models.CharField(_("question"), max_length=300)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.TextField(_("choices (one per line)"), blank=True, default="")
    required = models.BooleanField(_("required"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["event", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="choice") | ~Q(choices=""), name="question_choice_has_options"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]
