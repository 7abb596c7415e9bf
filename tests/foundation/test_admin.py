"""Every model has an admin whose list, add and change pages load for an organiser."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from tests.factories import TicketFactory, WaitingListEntryFactory

pytestmark = pytest.mark.django_db


def project_models():
    """Every model of an app that lives in this repository (not in site-packages), so an app
    added later is covered without editing a list."""
    from django.apps import apps
    from django.conf import settings

    root = str(settings.BASE_DIR)
    return [
        m
        for m in apps.get_models()
        if m._meta.app_config.path.startswith(root) and ".venv" not in m._meta.app_config.path
    ]


def test_every_project_model_is_registered():
    missing = [m._meta.label for m in project_models() if not admin.site.is_registered(m)]
    assert missing == []


def test_admin_pages_load_for_every_model(organiser_client):
    call_command("seed_demo", password="demo-pass-123")
    TicketFactory()
    WaitingListEntryFactory()
    from communications.services import mail_enqueue

    mail_enqueue(key="admin-test", template="test", to_email="a@example.nl")
    for model in project_models():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = organiser_client.get(changelist)
        assert response.status_code == 200, changelist
        # Search and the first filter work too (they hit search_fields / list_filter).
        assert organiser_client.get(changelist, {"q": "a"}).status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert organiser_client.get(change).status_code == 200, change
        # Read-only admins (the outbox) answer 403 on add; all others show the form.
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert organiser_client.get(add).status_code in (200, 403), add


def test_admin_requires_staff(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
