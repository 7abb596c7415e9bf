from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from common.validators import CleanTextFormMixin


class RefundForm(CleanTextFormMixin, forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund (€)"),
        min_value=Decimal("0.01"),
        max_digits=9,
        decimal_places=2,
        localize=True,
    )
    # Made when the page is drawn: submitting the same form twice is one refund.
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def amount_cents(self) -> int:
        return int(self.cleaned_data["amount"] * 100)
