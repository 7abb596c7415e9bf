import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_home_is_dutch_by_default(client):
    call_command("seed_demo", password="demo-pass-123")
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/nl/")
    html = response.content.decode()
    assert '<html lang="nl">' in html
    assert "Congres Gezond Werk 2027" in html
    assert "Aankomende evenementen" in html


def test_home_in_english(client):
    response = client.get("/en/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Upcoming events" in html


def test_event_detail_shows_places_left_and_prices(client):
    call_command("seed_demo", password="demo-pass-123")
    html = client.get("/nl/events/congres-gezond-werk-2027/").content.decode()
    assert "300" in html
    assert "€\xa0149,00" in html


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
