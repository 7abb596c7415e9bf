"""Signed, expiring personal links: manage a booking or ticket, take up an offer, a sign-up.

A token signs the row's random ``secret`` with a salt per purpose, so a ticket token never opens
a booking page, and expires after ``settings.SIGNED_LINK_MAX_AGE_DAYS``. Rotating the secret
(e.g. when a ticket is handed to someone else) invalidates every link issued before.
"""

from django.db import models

from common import signed_links

from .models import CampaignParticipation, Registration, Ticket, WaitingListEntry

_SALTS = {
    "booking": "participants.links.booking",
    "ticket": "participants.links.ticket",
    "waitlist": "participants.links.waitlist_offer",
    "participation": "participants.links.participation",
}
_URL_NAMES = {
    "booking": "participants:booking_manage",
    "ticket": "participants:ticket_manage",
    "waitlist": "participants:waitlist_offer",
    "participation": "participants:participation_manage",
}


def _token(purpose: str, secret: str) -> str:
    return signed_links.sign(secret, salt=_SALTS[purpose])


def _url(purpose: str, secret: str) -> str:
    return signed_links.absolute_url(_URL_NAMES[purpose], _token(purpose, secret))


def _load(purpose: str, token: str, model: type[models.Model]):
    return signed_links.row_from_token(token, salt=_SALTS[purpose], queryset=model.objects.all())


def booking_token(registration: Registration) -> str:
    return _token("booking", registration.secret)


def booking_manage_url(registration: Registration) -> str:
    return _url("booking", registration.secret)


def booking_from_token(token: str) -> Registration:
    return _load("booking", token, Registration)


def ticket_token(ticket: Ticket) -> str:
    return _token("ticket", ticket.secret)


def ticket_manage_url(ticket: Ticket) -> str:
    return _url("ticket", ticket.secret)


def ticket_from_token(token: str) -> Ticket:
    return _load("ticket", token, Ticket)


def waitlist_offer_token(entry: WaitingListEntry) -> str:
    return _token("waitlist", entry.secret)


def waitlist_offer_url(entry: WaitingListEntry) -> str:
    return _url("waitlist", entry.secret)


def waitlist_entry_from_token(token: str) -> WaitingListEntry:
    return _load("waitlist", token, WaitingListEntry)


waitlist_offer_from_token = waitlist_entry_from_token


def participation_token(participation: CampaignParticipation) -> str:
    return _token("participation", participation.secret)


def participation_manage_url(participation: CampaignParticipation) -> str:
    return _url("participation", participation.secret)


def participation_from_token(token: str) -> CampaignParticipation:
    return _load("participation", token, CampaignParticipation)
