"""Small helpers for the pages and mails that tell a booker about paying."""

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

register = template.Library()


@register.filter
def until_time(moment) -> str:
    """A hold's end in local time (TIME_ZONE, Europe/Amsterdam): the time alone when it is
    today, else with the date, so a long hold never reads as "until 09:00" the day before."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return date_format(local, "H:i")
    return date_format(local, "j F Y, H:i")


@register.simple_tag
def organiser_email() -> str:
    return settings.ORGANISER_EMAIL
