"""Who sees what: a school only its own request (signed link), an ambassador only their own
sessions and availability, organisers everything; personal data in the API is staff only."""

from datetime import time

import pytest
from django.core import signing
from django.urls import reverse
from rest_framework.test import APIClient

from schools import links
from schools.models import AvailabilityWindow
from schools.services import school_session_assign
from tests.factories import UserFactory

from .conftest import THURSDAY, TUESDAY, AmbassadorFactory, make_request, weekly

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_planned():
    """Two schools, two ambassadors, one session each."""
    first_request = make_request()
    second_request = make_request(
        slots=[(TUESDAY, time(13), time(14)), (THURSDAY, time(13), time(14))]
    )
    first_amb = AmbassadorFactory(person__name="Eerste Ambassadeur", user=UserFactory())
    second_amb = AmbassadorFactory(person__name="Tweede Ambassadeur")
    first = school_session_assign(
        request=first_request, ambassador=first_amb, slot=first_request.slots.first(), user=None
    )
    second = school_session_assign(
        request=second_request, ambassador=second_amb, slot=second_request.slots.first(), user=None
    )
    return first, second


def page(client, url):
    response = client.get(url)
    return response.status_code, response.content.decode()


def test_school_link_shows_only_its_own_request(client, two_planned):
    first, second = two_planned
    status, html = page(
        client,
        reverse("schools:request_manage", kwargs={"token": links.request_token(first.request)}),
    )
    assert status == 200
    assert first.request.school.name in html and "Eerste Ambassadeur" in html
    assert second.request.school.name not in html and "Tweede Ambassadeur" not in html


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        # A valid signature for another purpose (the ambassador page) does not open a request.
        "ambassador",
        # The right salt around a secret that does not exist.
        signing.dumps("no-such-secret", salt="schools.links.request"),
    ],
)
def test_forged_or_foreign_tokens_do_not_open_a_request(client, two_planned, token):
    first, _second = two_planned
    if token == "ambassador":
        token = links.ambassador_token(first.ambassador)
    status, html = page(client, reverse("schools:request_manage", kwargs={"token": token}))
    assert status == 404
    assert first.request.school.name not in html


def test_ambassador_sees_only_own_sessions_by_link_and_by_login(client, two_planned):
    first, second = two_planned
    for url in (
        reverse(
            "schools:ambassador_page", kwargs={"token": links.ambassador_token(first.ambassador)}
        ),
        reverse("schools:ambassador_me"),
    ):
        if url.endswith("/ambassadeur/"):
            client.force_login(first.ambassador.user)
        status, html = page(client, url)
        assert status == 200
        assert first.request.school.name in html
        assert second.request.school.name not in html


def test_ambassador_login_without_profile_is_404_and_anonymous_goes_to_login(client):
    response = client.get(reverse("schools:ambassador_me"))
    assert response.status_code == 302 and "/account/login/" in response["Location"]
    client.force_login(UserFactory())
    assert client.get(reverse("schools:ambassador_me")).status_code == 404


def test_ambassador_keeps_availability_up_to_date_but_cannot_touch_anothers(client):
    mine, theirs = AmbassadorFactory(), AmbassadorFactory()
    their_window = weekly(theirs)
    token = links.ambassador_token(mine)
    url = reverse("schools:ambassador_page", kwargs={"token": token})
    # Bad input: field errors in Dutch, nothing saved.
    response = client.post(
        url, {"kind": "weekly", "weekday": "", "start_time": "12:00", "end_time": "11:00"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Kies een weekdag." in html and 'id="id_weekday_error"' in html
    assert not mine.availability.exists()
    response = client.post(
        url, {"kind": "weekly", "weekday": "1", "start_time": "12:00", "end_time": "11:00"}
    )
    assert "De eindtijd moet na de begintijd liggen." in response.content.decode()
    assert not mine.availability.exists()
    # Good input.
    assert (
        client.post(
            url, {"kind": "once", "date": "2027-03-04", "start_time": "09:00", "end_time": "12:00"}
        ).status_code
        == 302
    )
    window = mine.availability.get()
    assert window.date == THURSDAY and window.weekday is None
    # Removing someone else's window through my link: 404 and it stays.
    remove_theirs = reverse(
        "schools:availability_remove", kwargs={"token": token, "window_id": their_window.pk}
    )
    assert client.post(remove_theirs).status_code == 404
    assert AvailabilityWindow.objects.filter(pk=their_window.pk).exists()
    remove_mine = reverse(
        "schools:availability_remove", kwargs={"token": token, "window_id": window.pk}
    )
    assert client.post(remove_mine).status_code == 302
    assert not mine.availability.exists()


def test_feedback_link_is_per_role(client, two_planned):
    first, _second = two_planned
    token = links.feedback_token(first, "school")
    assert links.feedback_from_token(token) == (first, "school")
    # A feedback token cannot be turned into another role or another purpose.
    assert (
        client.get(
            reverse("schools:feedback", kwargs={"token": links.request_token(first.request)})
        ).status_code
        == 404
    )
    forged = signing.dumps([first.secret, "organiser"], salt="schools.links.feedback")
    assert client.get(reverse("schools:feedback", kwargs={"token": forged})).status_code == 404


STAFF_PAGES = ["board", "statistics"]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_staff_pages_refuse_others(client, name):
    url = reverse(f"schools:{name}")
    response = client.get(url)
    assert response.status_code == 302 and "/account/login/" in response["Location"]
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403


def test_planning_pages_refuse_non_staff_even_an_ambassador(client, two_planned, staff_user):
    first, _second = two_planned
    client.force_login(first.ambassador.user)
    plan = reverse("schools:request_plan", kwargs={"request_id": first.request_id})
    detail = reverse("schools:session_detail", kwargs={"session_id": first.pk})
    assert client.get(plan).status_code == 403
    assert client.get(detail).status_code == 403
    assert client.post(detail, {"action": "cancel", "reopen": "on"}).status_code == 403
    first.refresh_from_db()
    assert first.status == "planned"
    client.force_login(staff_user)
    assert client.get(plan).status_code == 200
    assert client.get(detail).status_code == 200


# --- API -----------------------------------------------------------------------------------------


def api_as(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("path", ["requests/", "ambassadors/"])
def test_api_personal_data_is_staff_only(two_planned, staff_user, path):
    first, _second = two_planned
    url = f"/api/v1/schools/{path}"
    assert api_as().get(url).status_code == 403
    assert api_as(UserFactory()).get(url).status_code == 403
    assert api_as(first.ambassador.user).get(url).status_code == 403
    response = api_as(staff_user).get(url)
    assert response.status_code == 200 and response.json()["count"] == 2
    detail = f"/api/v1/schools/requests/{first.request_id}/"
    assert api_as(UserFactory()).get(detail).status_code == 403
    body = api_as(staff_user).get(detail).json()
    assert body["contact"]["email"] == first.request.contact.email


def test_api_sessions_staff_all_ambassador_own_others_refused(two_planned, staff_user):
    first, second = two_planned
    url = "/api/v1/schools/sessions/"
    assert api_as().get(url).status_code == 403
    assert api_as(UserFactory()).get(url).status_code == 403
    own = api_as(first.ambassador.user).get(url).json()
    assert [s["id"] for s in own["results"]] == [first.pk]
    everything = api_as(staff_user).get(url).json()
    assert sorted(s["id"] for s in everything["results"]) == sorted([first.pk, second.pk])


def api_body(**overrides):
    body = {
        "school": {
            "brin_code": "77xy",
            "name": "API College",
            "street": "Laan 1",
            "postcode": "1234AB",
            "city": "Ergens",
            "region": "12",
        },
        "contact": {"name": "Api Contact", "email": "api@college.nl"},
        "slots": [
            {"date": "2027-03-02", "start_time": "10:00", "end_time": "11:00"},
            {"date": "2027-03-04", "start_time": "10:00", "end_time": "11:00"},
        ],
        "education_level": "mbo",
        "pupils": 30,
        "classes": 1,
        "work_field": "ggz",
    }
    body.update(overrides)
    return body


def test_api_public_create_with_idempotency_key_and_field_errors():
    from schools.models import SchoolSessionRequest

    client = api_as()
    url = "/api/v1/schools/requests/"
    bad = client.post(
        url,
        api_body(
            slots=[{"date": "2027-03-02", "start_time": "10:00", "end_time": "09:00"}],
            school={**api_body()["school"], "brin_code": "x"},
        ),
        format="json",
        HTTP_ACCEPT_LANGUAGE="nl",
    )
    assert bad.status_code == 400
    errors = bad.json()["errors"]
    assert "school.brin_code" in errors
    assert "slots" in errors and "minstens twee" in errors["slots"][0]
    assert SchoolSessionRequest.objects.count() == 0

    first = client.post(url, api_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.json()
    assert first.json()["school"] == "API College"
    assert "contact" not in first.json()  # the public answer holds no personal data
    again = client.post(url, api_body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    reused = client.post(url, api_body(pupils=31), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert SchoolSessionRequest.objects.count() == 1
    assert SchoolSessionRequest.objects.get().school.brin_code == "77XY"
