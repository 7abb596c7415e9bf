"""Money is stored as integer cents; these helpers are the only place it becomes text."""

from django.utils.formats import number_format


def format_euros(cents: int | None) -> str:
    """Localised amount with the euro sign, e.g. "€ 12,50" in Dutch and "€ 12.50" in English."""
    if cents is None:
        return ""
    return "€\u00a0" + number_format(cents / 100, decimal_pos=2, use_l10n=True, force_grouping=True)
