"""Unsubscribe links never expire: a link in a mailing from years ago must still work.

That is why mailings/links.py does not read its tokens through common.signed_links, whose
links expire after SIGNED_LINK_MAX_AGE_DAYS. The token below was minted on 6 November 2023
(with the key set here) in the format every mailed link has: changing the salt, the payload
or the reading would break it.
"""

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from common import signed_links
from common.errors import RuleViolation
from mailings import links, selectors
from mailings.models import Segment, Unsubscribe

pytestmark = pytest.mark.django_db

KEY = "werkstress-test-key-for-pinned-unsubscribe-links-0123456789"
MAILED_IN_2023 = (
    "eyJoIjoiYmE3NTU2ODBlMjE4MDVkZmVlMzZlNmQ5YjM4NzA3NDc4ZWQwZTQ2ZCIsInMiOiJldmVudF9hdHRlbmRlZXMifQ"
    ":1qzvSi:DfkgPVz7nlnVipcofoPflv9DmxJ4YsnUC3TU6yeJkXc"
)


@pytest.fixture
def fixed_key(settings):
    settings.SECRET_KEY = KEY
    settings.SIGNED_LINK_MAX_AGE_DAYS = 365


def test_a_link_mailed_years_ago_still_unsubscribes(fixed_key):
    anna = selectors.email_hash("anna@example.nl")
    assert links.unsubscribe_from_token(MAILED_IN_2023) == (anna, Segment.EVENT_ATTENDEES)
    # The shared expiring helper would refuse it: the reason links.py reads its own tokens.
    with pytest.raises(RuleViolation):
        signed_links.unsign(MAILED_IN_2023, salt=links.SALT)

    path = reverse("mailings:unsubscribe", kwargs={"token": MAILED_IN_2023})
    client = Client(enforce_csrf_checks=True)  # the RFC 8058 one-click POST
    assert client.get(path).status_code == 200
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Unsubscribe.objects.filter(email_hash=anna, scope=Segment.EVENT_ATTENDEES).exists()


def test_new_links_have_the_format_of_the_mailed_ones(fixed_key):
    anna = selectors.email_hash("anna@example.nl")
    token = links.unsubscribe_token(email_hash=anna, scope=Segment.EVENT_ATTENDEES)
    # Same salt and payload, and the same shape: payload:timestamp:signature, where the
    # payload part equals the old link's (only the time and signature differ).
    assert signing.loads(token, salt="mailings.unsubscribe") == {"h": anna, "s": "event_attendees"}
    assert token.split(":")[0] == MAILED_IN_2023.split(":")[0]
    url = links.unsubscribe_url(email_hash=anna, scope=Segment.EVENT_ATTENDEES, language="en")
    assert url.endswith(f"/en/mailings/unsubscribe/{token}/")


def test_tampered_or_foreign_tokens_are_refused(fixed_key):
    payload, stamp, signature = MAILED_IN_2023.split(":")
    tampered = f"{payload}:{stamp}:{signature[:-2]}xx"
    other_salt = signing.dumps({"h": "x", "s": "press"}, salt="participants.cancel")
    for token in (tampered, other_salt, "nonsense"):
        with pytest.raises(RuleViolation) as info:
            links.unsubscribe_from_token(token)
        assert info.value.code == "invalid_link"
