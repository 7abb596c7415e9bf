"""Exports: every kind as CSV and XLSX, parsed back; Dutch headers; CSV-injection guard;
scoping to a campaign/event; bad input answered field by field."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from backoffice.exports import export_prepare, neutralise

from .conftest import add_press, add_school_sessions

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel needs the BOM to read accents
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


def read_xlsx(response) -> list[list]:
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def post_export(client, **data):
    data.setdefault("format", "csv")
    data.setdefault("language", "nl")
    return client.post(reverse("backoffice:export"), data)


def test_attendees_csv(staff_client, dataset):
    response = post_export(staff_client, kind="attendees", campaign=dataset.campaign.pk)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="deelnemers-')
    rows = read_csv(response)
    assert rows[0] == [
        "Evenement",
        "Start evenement",
        "Boekingscode",
        "Status boeking",
        "Naam",
        "E-mailadres",
        "Organisatie",
        "Tickettype",
        "Status ticket",
        "Ingecheckt om",
        "Geboekt om",
    ]
    assert len(rows) == 1 + 5  # 5 tickets on the congress, none of the other campaign
    anna = next(r for r in rows if r[4] == "Anna de Vries")
    assert anna[0] == "Congres Werkdruk"
    assert anna[3] == "Bevestigd"
    assert anna[5] == "anna@example.nl"
    assert anna[6] == "Zorggroep Utrecht"
    assert anna[7] == "Dagkaart"
    assert anna[8] == "Geldig"
    assert len(anna[9]) == len("2030-03-02 12:00")
    # "-Bert" would be a formula in a spreadsheet: neutralised with a quote.
    assert any(r[4] == "'-Bert" for r in rows)


def test_attendees_xlsx_in_english(staff_client, dataset):
    response = post_export(
        staff_client, kind="attendees", format="xlsx", event=dataset.congress.pk, language="en"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="attendees-')
    rows = read_xlsx(response)
    assert rows[0][:5] == ["Event", "Event starts", "Booking code", "Booking status", "Name"]
    assert len(rows) == 6
    anna = next(r for r in rows if r[4] == "Anna de Vries")
    assert anna[8] == "Valid"
    assert anna[1].year == dataset.congress.starts_at.year  # a real date cell
    assert any(r[4] == "'-Bert" for r in rows)


def test_organisations(staff_client, dataset):
    for fmt, reader in (("csv", read_csv), ("xlsx", read_xlsx)):
        rows = reader(
            post_export(
                staff_client, kind="organisations", format=fmt, campaign=dataset.campaign.pk
            )
        )
        assert rows[0][:3] == ["Naam", "Soort", "KvK-nummer"]
        names = sorted(r[0] for r in rows[1:])
        # org1 and org2 signed up (org3 cancelled), org4 booked; the formula is neutralised.
        assert names == ["'=HYPERLINK(evil)", "ICT Utrecht", "Zorggroep Utrecht"]
        zorg = next(r for r in rows if r[0] == "Zorggroep Utrecht")
        assert zorg[4] == "Zorg en welzijn" and zorg[6] == "Midden-Utrecht"


def test_participations(staff_client, dataset):
    for fmt, reader in (("csv", read_csv), ("xlsx", read_xlsx)):
        rows = reader(
            post_export(staff_client, kind="participations", format=fmt, event=dataset.week.pk)
        )
        assert rows[0][0] == "Campagneweek"
        assert len(rows) == 4  # cancelled ones are exported too, with their status
        by_org = {r[1]: r for r in rows[1:]}
        assert by_org["Zorggroep Utrecht"][8] in ("120", 120)
        evil = by_org["'=HYPERLINK(evil)"]
        assert evil[7] == "Workshop of training, Wandeloverleg of ontspanningsactiviteit"
        assert evil[9] == "Bevestigd"
        assert by_org["Afgemeld BV"][9] == "Geannuleerd"


def test_school_sessions(staff_client, dataset):
    add_school_sessions(dataset)
    for fmt, reader in (("csv", read_csv), ("xlsx", read_xlsx)):
        rows = reader(
            post_export(
                staff_client, kind="school_sessions", format=fmt, campaign=dataset.campaign.pk
            )
        )
        assert rows[0][:2] == ["School", "BRIN-code"]
        body = sorted(rows[1:], key=lambda r: str(r[5]))
        reached = [(str(r[5]), str(r[6]), r[8]) for r in body]
        assert reached == [
            ("40", "40", "Gepland"),
            ("60", "60", "Gehouden"),
            ("80", "50", "Gehouden"),
        ]
        assert all(r[7] == "Ambassadeur Anne" for r in body)


def test_press_responses(staff_client, dataset):
    add_press(dataset)
    for fmt, reader in (("csv", read_csv), ("xlsx", read_xlsx)):
        rows = reader(
            post_export(
                staff_client, kind="press_responses", format=fmt, campaign=dataset.campaign.pk
            )
        )
        assert rows[0][:3] == ["Mediamoment", "Start", "Journalist"]
        answers = sorted((r[2], r[5], str(r[10]), r[11]) for r in rows[1:])
        assert answers == [
            ("Journalist 0", "Geaccepteerd", "2", "ja"),
            ("Journalist 1", "Afgeslagen", "0", "nee"),
            ("Journalist 2", "Uitgenodigd", "0", "nee"),
        ]


def test_export_is_scoped_to_the_chosen_campaign(staff, dataset):
    prepared = export_prepare(kind="attendees", user=staff, campaign_id=dataset.other_campaign.pk)
    assert prepared.count() == 1
    everything = export_prepare(kind="attendees", user=staff)
    assert everything.count() == 6


def test_neutralise():
    assert [neutralise(v) for v in ("=1+1", "+31", "-5", "@SUM", "\tx", "Anna", "")] == [
        "'=1+1",
        "'+31",
        "'-5",
        "'@SUM",
        "'\tx",
        "Anna",
        "",
    ]


def test_bad_input_is_answered_per_field_and_nothing_happens(staff_client, dataset):
    response = post_export(staff_client, kind="everything", format="pdf", event="999999")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_kind_error"' in html and 'id="id_format_error"' in html
    assert 'id="id_event_error"' in html
    assert 'aria-describedby="id_kind_error"' in html
    from backoffice.models import ExportJob

    assert not ExportJob.objects.exists()


def test_export_form_prefills_from_the_dashboard_link(staff_client, dataset):
    response = staff_client.get(reverse("backoffice:export") + f"?campaign={dataset.campaign.pk}")
    assert response.status_code == 200
    assert f'<option value="{dataset.campaign.pk}" selected>' in response.content.decode()
