"""Every back-office page: anonymous -> login, logged in without organiser rights -> 403."""

import pytest
from django.urls import reverse

from backoffice.exports import export_prepare
from backoffice.models import ExportJob
from tests.factories import MembershipFactory, UserFactory

from .conftest import campaign_manager, checkin_staff

pytestmark = pytest.mark.django_db


def urls(ds):
    return [
        reverse("backoffice:index"),
        reverse("backoffice:campaign_dashboard", args=[ds.campaign.pk]),
        reverse("backoffice:event_dashboard", args=[ds.congress.pk]),
        reverse("backoffice:export"),
    ]


def test_anonymous_is_sent_to_the_login_page(client, dataset):
    for url in urls(dataset):
        response = client.get(url)
        assert response.status_code == 302
        assert "/account/" in response["Location"] or "login" in response["Location"]
    response = client.post(reverse("backoffice:export"), {"kind": "attendees", "format": "csv"})
    assert response.status_code == 302


def test_organisation_members_and_plain_users_are_refused(client, dataset):
    membership = MembershipFactory(organisation=dataset.orgs["org1"], role="admin")
    for user in (membership.user, UserFactory()):
        client.force_login(user)
        for url in urls(dataset):
            assert client.get(url).status_code == 403, url
        response = client.post(
            reverse("backoffice:export"),
            {"kind": "attendees", "format": "csv", "language": "nl"},
        )
        assert response.status_code == 403
        assert b"Anna de Vries" not in response.content


def test_unknown_ids_are_404(staff_client, db):
    assert (
        staff_client.get(reverse("backoffice:campaign_dashboard", args=[999999])).status_code == 404
    )
    assert staff_client.get(reverse("backoffice:event_dashboard", args=[999999])).status_code == 404


def test_entry_page_links_every_organiser_page(staff_client, dataset):
    html = staff_client.get(reverse("backoffice:index")).content.decode()
    event_id = dataset.congress.pk
    for name, kwargs in [
        ("backoffice:campaign_dashboard", {"campaign_id": dataset.campaign.pk}),
        ("backoffice:event_dashboard", {"event_id": event_id}),
        ("participants:event_checkin", {"event_id": event_id}),
        ("communications:certificate_runs", {"event_id": event_id}),
        ("payments:event_payments", {"event_id": event_id}),
        ("communications:outbox_list", {}),
        ("backoffice:export", {}),
        ("schools:board", {}),
        ("press:staff_moments", {}),
    ]:
        assert f'href="{reverse(name, kwargs=kwargs or None)}"' in html, name


def test_staff_nav_links_to_the_back_office(staff_client, db):
    html = staff_client.get(reverse("home")).content.decode()
    assert f'href="{reverse("backoffice:index")}"' in html


def test_checkin_staff_are_refused(client, dataset):
    client.force_login(checkin_staff(dataset.congress))
    for url in urls(dataset):
        assert client.get(url).status_code == 403, url


def test_campaign_manager_sees_only_their_campaign(client, dataset):
    manager = campaign_manager(dataset.campaign)
    client.force_login(manager)
    assert client.get(urls(dataset)[1]).status_code == 200
    other = dataset.other_event
    assert (
        client.get(
            reverse("backoffice:campaign_dashboard", args=[dataset.other_campaign.pk])
        ).status_code
        == 404
    )
    assert client.get(reverse("backoffice:event_dashboard", args=[other.pk])).status_code == 404
    index = client.get(reverse("backoffice:index")).content.decode()
    assert dataset.campaign.name in index
    assert dataset.other_campaign.name not in index
    # Administrator-only areas are not offered on the entry page.
    links = index.split('aria-labelledby="general-heading"')[1].split("</nav>")[0]
    assert reverse("backoffice:export") in links
    assert reverse("communications:outbox_list") not in links
    assert reverse("admin:index") not in links


def test_campaign_manager_exports_only_their_campaigns(client, dataset):
    manager = campaign_manager(dataset.campaign)
    everything = export_prepare(kind="attendees", user=manager)
    assert everything.count() == 5  # the other campaign's attendee is not in it
    assert (
        export_prepare(kind="organisations", user=manager)
        .queryset.filter(name="Ander bedrijf")
        .count()
        == 0
    )
    client.force_login(manager)
    for field, value in (
        ("campaign", dataset.other_campaign.pk),
        ("event", dataset.other_event.pk),
    ):
        response = client.post(
            reverse("backoffice:export"),
            {"kind": "attendees", "format": "csv", "language": "nl", field: value},
        )
        assert response.status_code == 400
        assert f'id="id_{field}_error"' in response.content.decode()
    assert not ExportJob.objects.exists()


def test_a_managers_job_follows_their_scope(dataset):
    from backoffice.tasks import render_export_task

    manager = campaign_manager(dataset.other_campaign)
    job = ExportJob.objects.create(kind="attendees", format="csv", requested_by=manager)
    render_export_task(job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == ("done", 1)
