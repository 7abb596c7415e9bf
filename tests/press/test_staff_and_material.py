"""Staff: select journalists by filters, preview per recipient, send; upload press material
(type and size checked by content); coverage log and totals per campaign; the demo data."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from common.errors import RuleViolation
from press import selectors, services
from press.models import InterviewSlot, Journalist, MediaMoment, PressInvitation, PressMaterial
from tests.factories import CampaignFactory, region

from . import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path):
    settings.PRESS_MATERIAL_ROOT = tmp_path / "private-press"


def test_filters_select_by_media_type_region_topic_and_outlet():
    utrecht = region("12")
    nos = h.outlet("NOS")
    a = h.journalist(media_type="national", outlet=nos, topics="werkstress")
    b = h.journalist(media_type="regional", region=utrecht, topics="zorg, onderwijs")
    removed = h.journalist(media_type="regional", region=utrecht, topics="zorg")
    services.journalist_remove(journalist=removed)
    assert list(selectors.journalist_list(media_type="national")) == [a]
    assert list(selectors.journalist_list(region=utrecht)) == [b]
    assert list(selectors.journalist_list(topic="onderwijs")) == [b]
    assert list(selectors.journalist_list(outlet=nos)) == [a]


def test_invite_page_previews_per_recipient_and_sends(organiser_client):
    m = h.moment(title="Werkbezoek minister")
    a = h.journalist(name="Anna Smit", media_type="trade")
    b = h.journalist(name="Bas Kok", language="en", media_type="trade")
    h.journalist(name="Cor Landelijk", media_type="national")
    url = reverse("press:staff_invite", kwargs={"pk": m.pk})
    page = organiser_client.get(url, {"media_type": "trade", "preview": b.pk})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Anna Smit" in body and "Bas Kok" in body and "Cor Landelijk" not in body
    # Bas reads English: the preview is his mail, in his language.
    assert "Press invitation: Werkbezoek minister" in body
    assert "Dear Bas Kok" in body
    _review, response = h.invite_on_page(organiser_client, m, [a, b])
    assert response.status_code == 302
    assert set(PressInvitation.objects.values_list("journalist_id", flat=True)) == {a.pk, b.pk}
    assert len(h.mails("press_invitation")) == 2
    # Invited journalists cannot be ticked again: nothing is invited twice.
    assert organiser_client.post(url, {"journalist": [a.pk]}).status_code == 400
    assert len(h.mails("press_invitation")) == 2


def test_upload_accepts_the_four_types_by_content():
    m = h.moment()
    for upload, kind in [
        (h.pdf_upload(), "press_release"),
        (h.png_upload(), "photo"),
        (h.docx_upload(), "fact_sheet"),
        (SimpleUploadedFile("foto.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 16), "photo"),
    ]:
        services.press_material_add(moment=m, kind=kind, title="x", file=upload)
    assert sorted(PressMaterial.objects.values_list("content_type", flat=True)) == [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "image/jpeg",
        "image/png",
    ]


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("virus.exe", b"MZ\x90\x00"),
        SimpleUploadedFile("fake.pdf", b"<html>not a pdf</html>"),
        SimpleUploadedFile("fake.docx", b"PK\x03\x04 broken zip"),
        SimpleUploadedFile("noext", b"%PDF-1.4"),
    ],
)
def test_upload_refuses_other_types(upload):
    m = h.moment()
    with pytest.raises(RuleViolation) as exc:
        services.press_material_add(moment=m, kind="other", title="x", file=upload)
    assert exc.value.errors.keys() == {"file"}
    assert PressMaterial.objects.count() == 0


def test_upload_refuses_too_large(settings):
    settings.PRESS_MATERIAL_MAX_BYTES = 100
    with pytest.raises(RuleViolation) as exc:
        services.press_material_add(
            moment=h.moment(),
            kind="photo",
            title="x",
            file=SimpleUploadedFile("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200),
        )
    assert "te groot" in str(exc.value.errors["file"][0]) or "too large" in str(
        exc.value.errors["file"][0]
    )


def test_upload_page_shows_field_error_and_stores_nothing(organiser_client):
    m = h.moment()
    url = reverse("press:staff_material", kwargs={"pk": m.pk})
    response = organiser_client.post(
        url, {"kind": "photo", "title": "Foto", "file": SimpleUploadedFile("a.gif", b"GIF89a")}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_file_error"' in body and 'aria-describedby="id_file_error' in body
    assert PressMaterial.objects.count() == 0
    ok = organiser_client.post(url, {"kind": "photo", "title": "Foto", "file": h.png_upload()})
    assert ok.status_code == 302
    assert PressMaterial.objects.count() == 1


def test_coverage_totals_per_campaign_and_api(organiser_client):
    c1, c2 = CampaignFactory(name="Check je Werkstress"), CampaignFactory(name="Ik Zorg")
    m1, m2, m3 = h.moment(campaign=c1), h.moment(campaign=c1), h.moment(campaign=c2)
    services.coverage_add(
        moment=m1,
        outlet_name="NOS",
        published_on=dt.date(2026, 11, 16),
        estimated_reach=1_000_000,
        kind="broadcast",
    )
    services.coverage_add(
        moment=m2, outlet_name="Trouw", published_on=dt.date(2026, 11, 17), estimated_reach=250_000
    )
    response = organiser_client.post(
        "/api/v1/press/coverage/",
        {
            "moment_id": m3.pk,
            "outlet_name": "Vakblad",
            "published_on": "2026-11-18",
            "estimated_reach": 5000,
            "url": "https://vakblad.example.nl/artikel",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    bad = organiser_client.post(
        "/api/v1/press/coverage/",
        {"moment_id": m3.pk, "outlet_name": "", "published_on": "gisteren", "estimated_reach": -1},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert {"outlet_name", "published_on", "estimated_reach"} <= set(bad.json()["errors"])
    totals = organiser_client.get("/api/v1/press/coverage/totals/").json()
    assert totals == [
        {"campaign_id": c1.pk, "campaign": "Check je Werkstress", "items": 2, "reach": 1_250_000},
        {"campaign_id": c2.pk, "campaign": "Ik Zorg", "items": 1, "reach": 5000},
    ]


def test_api_press_list_create_and_validation(organiser_client):
    nos = h.outlet("NOS")
    ok = organiser_client.post(
        "/api/v1/press/journalists/",
        {
            "name": "Eva Pers",
            "email": "eva@nos.example.nl",
            "outlet_id": nos.pk,
            "media_type": "national",
            "legal_basis": "consent",
            "agreed_on": "2026-02-01",
        },
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.json()
    dup = organiser_client.post(
        "/api/v1/press/journalists/",
        {
            "name": "Eva",
            "email": "EVA@nos.example.nl",
            "outlet_id": nos.pk,
            "media_type": "national",
            "legal_basis": "consent",
            "agreed_on": "2026-02-01",
        },
        content_type="application/json",
    )
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_email"
    future = organiser_client.post(
        "/api/v1/press/journalists/",
        {
            "name": "X",
            "email": "x@nos.example.nl",
            "outlet_id": nos.pk,
            "media_type": "national",
            "legal_basis": "consent",
            "agreed_on": "2999-01-01",
        },
        content_type="application/json",
    )
    assert future.status_code == 400 and "agreed_on" in future.json()["errors"]
    listing = organiser_client.get("/api/v1/press/journalists/").json()
    assert [r["email"] for r in listing["results"]] == ["eva@nos.example.nl"]
    assert Journalist.objects.count() == 1


def test_hooks_page_lists_the_media_calendar(organiser_client):
    from press.models import MediaHook

    MediaHook.objects.create(title="Wereld Mentale Gezondheidsdag", starts_on=dt.date(2027, 10, 10))
    page = organiser_client.get(reverse("press:staff_hooks")).content.decode()
    assert "Wereld Mentale Gezondheidsdag" in page
    assert "10 oktober 2027" in page


def test_demo_data_has_a_real_press_list_and_moment():
    call_command("seed_demo", password="demo-pass-123")
    call_command("seed_demo", password="demo-pass-123")  # idempotent
    assert Journalist.objects.filter(legal_basis="consent", removed_at__isnull=True).count() == 5
    moment = MediaMoment.objects.get()
    assert moment.embargo_until is not None
    assert InterviewSlot.objects.filter(moment=moment).count() == 2
    assert moment.spokespersons.count() == 2


def test_staff_creates_changes_and_cancels_a_moment_and_journalists_hear_it(organiser_client):
    campaign = CampaignFactory()
    sp = h.spokesperson()
    create = reverse("press:staff_moment_create")
    bad = organiser_client.post(
        create,
        {
            "campaign": campaign.pk,
            "title": "",
            "sub_kind": "work_visit",
            "starts_at": "2030-03-02T10:00",
            "ends_at": "2030-03-02T09:00",
        },
    )
    assert bad.status_code == 400
    assert 'id="id_title_error"' in bad.content.decode()
    assert MediaMoment.objects.count() == 0
    ok = organiser_client.post(
        create,
        {
            "campaign": campaign.pk,
            "title": "Werkbezoek bouw",
            "sub_kind": "work_visit",
            "starts_at": "2030-03-02T10:00",
            "ends_at": "2030-03-02T12:00",
            "venue_name": "Bouwplaats",
            "embargo_until": "2030-03-02T11:00",
            "spokespersons": [sp.pk],
        },
    )
    assert ok.status_code == 302
    moment = MediaMoment.objects.get()
    # Entered in Amsterdam time: 10:00 CET is 09:00 UTC.
    assert moment.event.starts_at == dt.datetime(2030, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert moment.embargo_until == dt.datetime(2030, 3, 2, 10, 0, tzinfo=dt.UTC)
    assert moment.event.kind == "media_moment"
    inv = h.invite(moment, h.journalist())
    services.press_invitation_respond(invitation=inv, accept=True)

    edit = reverse("press:staff_moment_edit", kwargs={"pk": moment.pk})
    assert organiser_client.get(edit).status_code == 200
    changed = organiser_client.post(
        edit,
        {
            "title": "Werkbezoek bouw",
            "sub_kind": "work_visit",
            "starts_at": "2030-03-02T14:00",
            "ends_at": "2030-03-02T16:00",
            "venue_name": "Bouwplaats",
            "embargo_until": "2030-03-02T15:00",
            "spokespersons": [sp.pk],
            "action": "save",
        },
    )
    assert changed.status_code == 302
    [mail] = h.mails("press_moment_changed")
    assert h.vevent(h.ics_of(mail)).decoded("DTSTART") == dt.datetime(
        2030, 3, 2, 13, 0, tzinfo=dt.UTC
    )
    assert organiser_client.post(edit, {"action": "cancel"}).status_code == 302
    [cancel] = h.mails("press_moment_cancelled")
    assert str(h.vevent(h.ics_of(cancel))["STATUS"]) == "CANCELLED"


def test_staff_overview_shows_each_moments_coverage_and_links_to_its_log(organiser_client):
    """The coverage that followed each moment: items and summed reach per moment (not
    multiplied by its invitations), linking to that moment's entries in the coverage log."""
    busy, quiet = h.moment(title="Persconferentie cijfers"), h.moment(title="Werkbezoek stil")
    for j in (h.journalist(), h.journalist(), h.journalist()):
        h.invite(busy, j)
    for outlet, reach in (("NOS", 1_200_000), ("Trouw", 80_000)):
        services.coverage_add(
            moment=busy,
            outlet_name=outlet,
            published_on=dt.date(2026, 11, 16),
            estimated_reach=reach,
        )
    services.coverage_add(
        moment=h.moment(),
        outlet_name="Vakblad",
        published_on=dt.date(2026, 11, 17),
        estimated_reach=7,
    )
    rows = {m.pk: m for m in selectors.moment_list_staff()}
    assert (rows[busy.pk].coverage_items, rows[busy.pk].coverage_reach) == (2, 1_280_000)
    assert (rows[quiet.pk].coverage_items, rows[quiet.pk].coverage_reach) == (0, 0)
    assert len(rows[busy.pk].invitations.all()) == 3

    page = organiser_client.get(reverse("press:staff_moments")).content.decode()
    assert "1.280.000" in page or "1,280,000" in page
    link = f"{reverse('admin:press_coverage_changelist')}?moment__id__exact={busy.pk}"
    assert link in page
    log = organiser_client.get(link)
    assert log.status_code == 200
    body = log.content.decode()
    assert "NOS" in body and "Trouw" in body and "Vakblad" not in body
