import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from events.models import Event, Question, TicketType
from organisations.models import Organisation


def new_secret() -> str:
    """An unguessable token for tickets and personal links (about 190 bits)."""
    return secrets.token_urlsafe(24)


def new_booking_code() -> str:
    # Unambiguous characters only: people read this out over the phone.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Language(models.TextChoices):
    NL = "nl", "Nederlands"
    EN = "en", "English"


class Person(models.Model):
    """A human the system writes to: attendee, booker, contact, ambassador or journalist."""

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail address"))
    phone = models.CharField(_("phone"), max_length=30, blank=True, default="")
    preferred_language = models.CharField(
        _("preferred language"), max_length=5, choices=Language.choices, default=Language.NL
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="people",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="people",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["email"]),
            # The duplicate-address check of a booking compares case-insensitively.
            models.Index(Lower("email"), name="person_email_lower_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Registration(models.Model):
    """A booking: one booker reserving one or more tickets for one event."""

    class PaymentMethod(models.TextChoices):
        ONLINE = "online", _("Pay online")
        INVOICE = "invoice", _("Invoice to the organisation")

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="registrations"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registrations",
    )
    booker = models.ForeignKey(
        Person, verbose_name=_("booker"), on_delete=models.PROTECT, related_name="bookings"
    )
    code = models.CharField(_("booking code"), max_length=12, unique=True, default=new_booking_code)
    secret = models.CharField(_("secret"), max_length=64, unique=True, default=new_secret)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.CONFIRMED
    )
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=Language.NL
    )
    payment_method = models.CharField(
        _("payment method"),
        max_length=10,
        choices=PaymentMethod.choices,
        default=PaymentMethod.ONLINE,
    )
    hold_expires_at = models.DateTimeField(_("places held until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(payment_method="invoice") | Q(organisation__isnull=False),
                name="registration_invoice_needs_organisation",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "status"]),
            models.Index(fields=["organisation", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.event})"


class Ticket(models.Model):
    """One attendee's place on a booking."""

    class Status(models.TextChoices):
        RESERVED = "reserved", _("Reserved")  # counts against capacity, not yet valid for entry
        VALID = "valid", _("Valid")
        CANCELLED = "cancelled", _("Cancelled")

    # Statuses that occupy a place; the capacity check counts exactly these.
    HOLDS_PLACE = (Status.RESERVED, Status.VALID)

    registration = models.ForeignKey(
        Registration, verbose_name=_("booking"), on_delete=models.CASCADE, related_name="tickets"
    )
    # Denormalised from registration so capacity counts and check-in need one table.
    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="tickets"
    )
    ticket_type = models.ForeignKey(
        TicketType, verbose_name=_("ticket type"), on_delete=models.PROTECT, related_name="tickets"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("attendee"), on_delete=models.PROTECT, related_name="tickets"
    )
    secret = models.CharField(_("secret"), max_length=64, unique=True, default=new_secret)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.VALID
    )
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["registration", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(checked_in_at__isnull=True) | Q(status="valid"),
                name="ticket_checkin_only_when_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "status"]),
            models.Index(fields=["ticket_type", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.person.name} - {self.event}"


class Answer(models.Model):
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="answers"
    )
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="answers"
    )
    value = models.TextField(_("answer"), blank=True, default="")

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["ticket", "question__position"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "question"], name="answer_unique_per_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.value}"


class WaitingListEntry(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Place offered")
        ACCEPTED = "accepted", _("Accepted")
        EXPIRED = "expired", _("Offer expired")
        CANCELLED = "cancelled", _("Cancelled")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="waiting_list"
    )
    ticket_type = models.ForeignKey(
        TicketType,
        verbose_name=_("ticket type"),
        on_delete=models.CASCADE,
        related_name="waiting_list",
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="waiting_list"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waiting_list",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    secret = models.CharField(_("secret"), max_length=64, unique=True, default=new_secret)
    offer_expires_at = models.DateTimeField(_("offer open until"), null=True, blank=True)
    # How many times a place was offered; part of the offer mail's idempotency key.
    offer_count = models.PositiveSmallIntegerField(_("offers made"), default=0)
    registration = models.ForeignKey(
        Registration,
        verbose_name=_("resulting booking"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting-list entries")
        ordering = ["event", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="offered") | Q(offer_expires_at__isnull=False),
                name="waitinglist_offer_has_expiry",
            ),
        ]
        indexes = [models.Index(fields=["event", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.person.name} - {self.event}"


class CampaignParticipation(models.Model):
    """An organisation taking part in a campaign week (an event of kind campaign week)."""

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")

    class Activity(models.TextChoices):
        WORKSHOP = "workshop", _("Workshop or training")
        LUNCH_LECTURE = "lunch_lecture", _("Lunch lecture")
        SELF_TEST = "self_test", _("Work-stress self-test for employees")
        TEAM_SESSION = "team_session", _("Team conversation about work pressure")
        MANAGER_TRAINING = "manager_training", _("Session for managers")
        WALK = "walk", _("Walking meeting or relaxation activity")
        COMMUNICATION = "communication", _("Internal communication campaign")
        OTHER = "other", _("Other activity")

    event = models.ForeignKey(
        Event,
        verbose_name=_("campaign week"),
        on_delete=models.PROTECT,
        related_name="participations",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="participations",
    )
    contact = models.ForeignKey(
        Person,
        verbose_name=_("contact person"),
        on_delete=models.PROTECT,
        related_name="participations",
    )
    activities = models.JSONField(_("pledged activities"), default=list, blank=True)
    activities_description = models.TextField(
        _("description of activities"), blank=True, default=""
    )
    employees_reached = models.PositiveIntegerField(_("employees expected to reach"), default=0)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REGISTERED
    )
    secret = models.CharField(_("secret"), max_length=64, unique=True, default=new_secret)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign participation")
        verbose_name_plural = _("campaign participations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "organisation"],
                condition=~Q(status="cancelled"),
                name="participation_once_per_week",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} - {self.event}"
