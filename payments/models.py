"""Payments: Stripe Checkout payments, refunds, processed webhook events and invoices.

Money is integer cents incl. VAT unless a field says otherwise. Invoices are legal documents:
their numbers are gap-free per year (see InvoiceCounter) and their seller/buyer details are
copied at issue time so a later change to an organisation never rewrites an issued invoice.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from participants.models import Registration


class Payment(models.Model):
    """One attempt to pay a booking online: normally a Stripe Checkout Session (a booking may
    need several attempts). An attempt that failed at the payment provider (unreachable, 5xx,
    timeout, refused) is kept too, without a session, with status provider_error: the hold
    expiry reads it to keep the places longer instead of blaming the booker."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        PROVIDER_ERROR = "provider_error", _("Payment provider unavailable")

    # Statuses in which the money reached us (refunds included).
    RECEIVED = (Status.PAID, Status.REFUNDED, Status.PARTIALLY_REFUNDED)

    registration = models.ForeignKey(
        Registration, verbose_name=_("booking"), on_delete=models.PROTECT, related_name="payments"
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    # Empty (NULL, so unique still holds for the others) on an attempt that failed at Stripe.
    stripe_session_id = models.CharField(
        _("Stripe checkout session"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(
        _("Stripe payment intent"), max_length=255, blank=True, default=""
    )
    checkout_url = models.URLField(_("checkout address"), max_length=2000, blank=True, default="")
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    amount_refunded_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default="eur")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    method = models.CharField(_("payment method"), max_length=30, blank=True, default="")
    expires_at = models.DateTimeField(_("session expires"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # What the payment provider answered when this attempt failed there (status provider_error).
    provider_error = models.TextField(_("payment provider error"), blank=True, default="")
    # Set when the hold expiry kept the places longer because this attempt failed at the
    # provider; a booking gets that extension once.
    hold_extended_until = models.DateTimeField(_("hold extended until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "attempt"], name="payment_attempt_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded_cents__lte=models.F("amount_cents")),
                name="payment_refund_not_above_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.registration.code} #{self.attempt} ({self.status})"


class Refund(models.Model):
    class Reason(models.TextChoices):
        CANCELLED = "cancelled", _("Tickets cancelled")
        LATE_PAYMENT = "late_payment", _("Paid after the places were released")
        DUPLICATE = "duplicate", _("Paid twice")
        MANUAL = "manual", _("Refunded by the organiser")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    stripe_refund_id = models.CharField(
        _("Stripe refund"), max_length=255, unique=True, null=True, blank=True
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Sent to Stripe as the Idempotency-Key and unique here: the same refund twice is one refund.
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    tickets = models.ManyToManyField(
        "participants.Ticket", verbose_name=_("tickets"), blank=True, related_name="refunds"
    )
    last_error = models.TextField(_("last error"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.payment} -{self.amount_cents}"


class StripeEvent(models.Model):
    """A webhook event we processed. Inserted in the same transaction as the change it causes,
    so the unique event id makes every Stripe event take effect at most once."""

    event_id = models.CharField(_("event id"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class InvoiceCounter(models.Model):
    """The last invoice number issued per year; locked while a number is allocated."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        OPEN = "open", _("Unpaid")
        PAID = "paid", _("Paid")
        CREDITED = "credited", _("Credited")

    class PaymentMethod(models.TextChoices):
        ONLINE = "online", _("Paid online")
        INVOICE = "invoice", _("Bank transfer")

    number = models.CharField(_("invoice number"), max_length=20, unique=True)
    # What the document is for ("invoice:<booking>", "credit:<refund>" ...): issuing the same
    # document twice returns the first one instead of using up a second number.
    key = models.CharField(_("key"), max_length=200, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence number"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    original = models.ForeignKey(
        "self",
        verbose_name=_("original invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
    )
    registration = models.ForeignKey(
        Registration, verbose_name=_("booking"), on_delete=models.PROTECT, related_name="invoices"
    )
    refund = models.OneToOneField(
        Refund,
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_note",
    )
    payment_method = models.CharField(
        _("payment method"), max_length=10, choices=PaymentMethod.choices
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    issue_date = models.DateField(_("invoice date"))
    due_date = models.DateField(_("due date"))
    seller_name = models.CharField(_("seller"), max_length=200)
    seller_address = models.CharField(_("seller address"), max_length=300)
    seller_kvk = models.CharField(_("seller KvK number"), max_length=20)
    seller_vat_number = models.CharField(_("seller VAT number"), max_length=20)
    seller_iban = models.CharField(_("seller IBAN"), max_length=40, blank=True, default="")
    buyer_name = models.CharField(_("buyer"), max_length=200)
    buyer_contact = models.CharField(_("buyer contact"), max_length=200, blank=True, default="")
    buyer_address = models.CharField(_("buyer address"), max_length=300, blank=True, default="")
    buyer_vat_number = models.CharField(
        _("buyer VAT number"), max_length=20, blank=True, default=""
    )
    buyer_email = models.EmailField(_("buyer e-mail address"))
    total_net_cents = models.IntegerField(_("total excl. VAT (cents)"))
    total_vat_cents = models.IntegerField(_("total VAT (cents)"))
    total_gross_cents = models.IntegerField(_("total incl. VAT (cents)"))
    language = models.CharField(_("language"), max_length=5, default="nl")
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminded_at = models.DateTimeField(_("last reminder"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_sequence_unique"),
            models.CheckConstraint(
                condition=Q(kind="invoice", original__isnull=True)
                | Q(kind="credit_note", original__isnull=False),
                name="invoice_credit_note_has_original",
            ),
            models.CheckConstraint(
                condition=Q(
                    total_gross_cents=models.F("total_net_cents") + models.F("total_vat_cents")
                ),
                name="invoice_totals_add_up",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return self.number

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.IntegerField(_("quantity"))
    unit_price_cents = models.IntegerField(_("unit price incl. VAT (cents)"))
    net_cents = models.IntegerField(_("amount excl. VAT (cents)"))
    vat_rate = models.DecimalField(_("VAT rate (%)"), max_digits=4, decimal_places=2)
    vat_cents = models.IntegerField(_("VAT (cents)"))
    gross_cents = models.IntegerField(_("amount incl. VAT (cents)"))

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(gross_cents=models.F("net_cents") + models.F("vat_cents")),
                name="invoiceline_amounts_add_up",
            ),
        ]

    def __str__(self) -> str:
        return self.description
