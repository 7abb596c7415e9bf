from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("pay/<str:token>/", views.checkout, name="checkout"),
    path("pay/<str:token>/done/", views.checkout_return, name="checkout_return"),
    path(
        "pay/<str:token>/invoices/<int:invoice_id>.pdf",
        views.booking_invoice_pdf,
        name="booking_invoice_pdf",
    ),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("events/<int:event_id>/", views.event_payments, name="event_payments"),
    path("payments/<int:payment_id>/refund/", views.payment_refund, name="payment_refund"),
    path("invoices/<int:invoice_id>/paid/", views.invoice_mark_paid, name="invoice_mark_paid"),
    path("invoices/<int:invoice_id>.pdf", views.invoice_pdf, name="invoice_pdf"),
]
