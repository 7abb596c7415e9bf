"""Changing an offered interview slot keeps the rules of offering one: a spokesperson is never
in two interviews at once, and a booked slot never moves without the journalist knowing. Both
for the service and for the Django admin, which used to save a changed slot directly."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.errors import RuleViolation
from press import services
from press.models import InterviewSlot

from . import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_slots():
    sp = h.spokesperson()
    m = h.moment()
    start = m.event.starts_at
    first = services.interview_slot_create(
        moment=m, spokesperson=sp, starts_at=start, ends_at=start + timedelta(minutes=30)
    )
    second = services.interview_slot_create(
        moment=m,
        spokesperson=sp,
        starts_at=start + timedelta(hours=1),
        ends_at=start + timedelta(hours=1, minutes=30),
    )
    return sp, m, first, second


def test_update_refuses_an_overlap_and_allows_a_free_time(two_slots):
    sp, _m, first, second = two_slots
    with pytest.raises(RuleViolation) as exc:
        services.interview_slot_update(
            slot=second,
            spokesperson=sp,
            starts_at=first.starts_at + timedelta(minutes=10),
            ends_at=first.starts_at + timedelta(minutes=40),
        )
    assert exc.value.code == "spokesperson_busy"
    moved = services.interview_slot_update(
        slot=second,
        spokesperson=sp,
        starts_at=first.ends_at,  # back to back is fine
        ends_at=first.ends_at + timedelta(minutes=30),
    )
    assert InterviewSlot.objects.get(pk=second.pk).starts_at == moved.starts_at == first.ends_at


def test_update_to_another_spokesperson_checks_that_ones_time(two_slots):
    _sp, m, first, _second = two_slots
    other = h.spokesperson()
    services.interview_slot_create(
        moment=h.moment(),
        spokesperson=other,
        starts_at=first.starts_at,
        ends_at=first.ends_at,
    )
    with pytest.raises(RuleViolation) as exc:
        services.interview_slot_update(
            slot=first, spokesperson=other, starts_at=first.starts_at, ends_at=first.ends_at
        )
    assert exc.value.code == "spokesperson_busy"


def test_a_booked_slot_does_not_move(two_slots):
    sp, m, first, _second = two_slots
    inv = h.invite(m, h.journalist())
    services.press_invitation_respond(invitation=inv, accept=True)
    services.interview_slot_book(invitation=inv, slot=first)
    with pytest.raises(RuleViolation) as exc:
        services.interview_slot_update(
            slot=first,
            spokesperson=sp,
            starts_at=first.starts_at + timedelta(hours=3),
            ends_at=first.ends_at + timedelta(hours=3),
        )
    assert exc.value.code == "not_allowed"
    # Saving it unchanged is fine.
    services.interview_slot_update(
        slot=first, spokesperson=sp, starts_at=first.starts_at, ends_at=first.ends_at
    )


def _admin_data(slot, starts_at, ends_at) -> dict:
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    return {
        "spokesperson": slot.spokesperson_id,
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
    }


def test_admin_change_cannot_double_book_a_spokesperson(organiser_client, two_slots):
    _sp, _m, first, second = two_slots
    url = reverse("admin:press_interviewslot_change", args=[second.pk])
    response = organiser_client.post(
        url,
        _admin_data(
            second,
            first.starts_at + timedelta(minutes=10),
            first.starts_at + timedelta(minutes=40),
        ),
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Deze woordvoerder heeft op dat moment al een interview." in response.content.decode()
    assert InterviewSlot.objects.get(pk=second.pk).starts_at == second.starts_at
    # A free time is saved.
    later = second.starts_at + timedelta(hours=2)
    ok = organiser_client.post(url, _admin_data(second, later, later + timedelta(minutes=20)))
    assert ok.status_code == 302
    assert InterviewSlot.objects.get(pk=second.pk).starts_at == later.replace(microsecond=0)


def test_admin_add_refuses_an_overlap_with_a_form_error(organiser_client, two_slots):
    _sp, m, first, _second = two_slots
    data = _admin_data(first, first.starts_at, first.ends_at) | {"moment": m.pk}
    response = organiser_client.post(reverse("admin:press_interviewslot_add"), data)
    assert response.status_code == 200
    assert InterviewSlot.objects.count() == 2


def test_admin_cannot_move_or_delete_a_booked_slot(organiser_client, two_slots):
    _sp, m, first, _second = two_slots
    inv = h.invite(m, h.journalist())
    services.press_invitation_respond(invitation=inv, accept=True)
    services.interview_slot_book(invitation=inv, slot=first)
    url = reverse("admin:press_interviewslot_change", args=[first.pk])
    later = first.starts_at + timedelta(hours=3)
    response = organiser_client.post(url, _admin_data(first, later, later + timedelta(minutes=30)))
    assert response.status_code == 200
    assert InterviewSlot.objects.get(pk=first.pk).starts_at == first.starts_at
    delete = reverse("admin:press_interviewslot_delete", args=[first.pk])
    assert organiser_client.post(delete, {"post": "yes"}).status_code == 403
    assert InterviewSlot.objects.filter(pk=first.pk, invitation=inv).exists()
    changelist = organiser_client.get(reverse("admin:press_interviewslot_changelist"))
    assert "delete_selected" not in changelist.content.decode()
