"""The press-list segment (press app): removed journalists are never mailed; filters apply."""

import pytest
from django.utils import timezone

from mailings import selectors
from mailings.models import Segment

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not selectors.press_available(), reason="press app not installed"),
]


def test_press_segment_skips_removed_journalists_and_filters():
    from press.models import Journalist
    from tests.press.helpers import journalist

    national = journalist(email="nationaal@krant.example.nl", topics="werkstress, zorg")
    journalist(email="regio@krant.example.nl", media_type=Journalist.MediaType.REGIONAL)
    removed = journalist(email="weg@krant.example.nl")
    Journalist.objects.filter(pk=removed.pk).update(removed_at=timezone.now())

    everyone = selectors.segment_recipients(segment=Segment.PRESS)
    assert {r.email for r in everyone} == {"nationaal@krant.example.nl", "regio@krant.example.nl"}
    national_only = selectors.segment_recipients(
        segment=Segment.PRESS, filters={"media_type": "national"}
    )
    assert [r.email for r in national_only] == ["nationaal@krant.example.nl"]
    by_topic = selectors.segment_recipients(segment=Segment.PRESS, filters={"topic": "zorg"})
    assert [r.email for r in by_topic] == [national.person.email]
