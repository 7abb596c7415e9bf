"""VAT arithmetic shared by the services (checkout, invoices) and the invoice document data.

Prices are stored incl. VAT (what the booker sees); the net amount is derived, rounded half up.
"""

from decimal import ROUND_HALF_UP, Decimal


def vat_split(*, gross_cents: int, rate: Decimal) -> tuple[int, int]:
    """Split an amount incl. VAT into (net, VAT), rounding the net amount half up."""
    net = (Decimal(gross_cents) * 100 / (100 + rate)).quantize(Decimal(1), ROUND_HALF_UP)
    return int(net), gross_cents - int(net)
