from django import template

from common.money import format_euros

register = template.Library()


@register.filter
def euros(cents: int | None) -> str:
    return format_euros(cents)
