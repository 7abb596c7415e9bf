from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.errors import RuleViolation

from . import services
from .models import Invoice, InvoiceCounter, InvoiceLine, Payment, Refund, StripeEvent


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ("amount_cents", "reason", "status", "stripe_refund_id", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = (
        "registration",
        "attempt",
        "status",
        "method",
        "amount_cents",
        "amount_refunded_cents",
        "paid_at",
    )
    list_filter = ("status", "method", "registration__event")
    search_fields = ("registration__code", "stripe_session_id", "stripe_payment_intent_id")
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [RefundInline]
    actions = ["refund_in_full"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Refund the remaining amount"))
    def refund_in_full(self, request, queryset):
        for payment in queryset:
            remaining = payment.amount_cents - payment.amount_refunded_cents
            try:
                services.refund_create(
                    payment=payment,
                    amount_cents=remaining,
                    reason=Refund.Reason.MANUAL,
                    idempotency_key=f"refund-{payment.pk}-admin-full",
                )
            except RuleViolation as exc:
                self.message_user(request, f"{payment}: {exc.message}", messages.ERROR)
            else:
                from privacy.services import audit_record

                audit_record(
                    actor=request.user,
                    action="payment.refund",
                    obj=payment,
                    request=request,
                    amount_cents=remaining,
                )
                self.message_user(request, _("Refund started for %s.") % payment)


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("payment", "amount_cents", "reason", "status", "created_at")
    list_filter = ("status", "reason")
    search_fields = ("payment__registration__code", "stripe_refund_id")
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in InvoiceLine._meta.fields if f.name != "id"]

    def has_add_permission(self, request, obj=None):
        return False


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Unpaid and past the due date"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            from .selectors import invoice_overdue_list

            return queryset.filter(pk__in=invoice_overdue_list().values("pk"))
        return queryset


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "kind",
        "buyer_name",
        "issue_date",
        "due_date",
        "status",
        "total_gross_cents",
        "pdf_link",
    )
    list_filter = ("status", OverdueFilter, "kind", "payment_method", "year")
    search_fields = ("number", "buyer_name", "registration__code")
    readonly_fields = [f.name for f in Invoice._meta.fields]
    inlines = [InvoiceLineInline]
    actions = ["mark_paid"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # invoices are kept; corrections go through credit notes

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("payments:invoice_pdf", args=[obj.pk]), _("PDF")
        )

    @admin.action(description=_("Mark as paid"))
    def mark_paid(self, request, queryset):
        for invoice in queryset:
            try:
                services.invoice_mark_paid(invoice=invoice, actor=request.user, request=request)
            except RuleViolation as exc:
                self.message_user(request, f"{invoice}: {exc.message}", messages.ERROR)


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "type", "received_at", "processed_at")
    list_filter = ("type",)
    search_fields = ("event_id",)
    readonly_fields = ("event_id", "type", "received_at", "processed_at")

    def has_add_permission(self, request):
        return False


@admin.register(InvoiceCounter)
class InvoiceCounterAdmin(admin.ModelAdmin):
    """Shown for audits only: changing a counter by hand would break the gap-free series."""

    list_display = ("year", "last_number")
    readonly_fields = ("year", "last_number")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InvoiceLine)
class InvoiceLineAdmin(admin.ModelAdmin):
    list_display = ("invoice", "description", "quantity", "gross_cents", "vat_rate")
    search_fields = ("invoice__number", "description")
    readonly_fields = [f.name for f in InvoiceLine._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
