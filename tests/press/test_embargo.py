"""The embargo holds on every route that serves a press file, before and after the time."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from press import links, services
from press.models import PressMaterial

from . import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path):
    settings.PRESS_MATERIAL_ROOT = tmp_path / "private-press"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def setup():
    embargo = timezone.now() + timedelta(days=2)
    m = h.moment(embargo_until=embargo)
    other_moment = h.moment()
    material = services.press_material_add(
        moment=m, kind="press_release", title="Persbericht", file=h.pdf_upload()
    )
    invited = h.invite(m, h.journalist())
    outsider = h.invite(other_moment, h.journalist())
    return {
        "embargo": embargo,
        "moment": m,
        "material": material,
        "invited": invited,
        "outsider": outsider,
    }


def _routes(s) -> dict[str, str]:
    pk = s["material"].pk
    return {
        "public": reverse("press:material_download", kwargs={"pk": pk}),
        "invited_link": reverse(
            "press:invitation_material",
            kwargs={"token": links.invitation_token(s["invited"]), "pk": pk},
        ),
        "other_moment_link": reverse(
            "press:invitation_material",
            kwargs={"token": links.invitation_token(s["outsider"]), "pk": pk},
        ),
        "media_url": "/" + settings.MEDIA_URL.lstrip("/") + s["material"].file.name,
        "media_url_prefixed": "/"
        + settings.MEDIA_URL.lstrip("/")
        + "press/"
        + s["material"].file.name,
    }


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_before_embargo_only_the_invited_journalist_gets_the_file(client, setup):
    routes = _routes(setup)
    status = {name: client.get(url).status_code for name, url in routes.items()}
    assert status == {
        "public": 404,
        "invited_link": 200,
        "other_moment_link": 404,
        "media_url": 404,
        "media_url_prefixed": 404,
    }
    response = client.get(routes["invited_link"])
    assert _body(response).startswith(b"%PDF-")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Type"] == "application/pdf"


def test_after_embargo_everyone_gets_it_but_never_through_media_url(client, setup):
    routes = _routes(setup)
    with freeze_time(setup["embargo"] + timedelta(seconds=1)):
        status = {name: client.get(url).status_code for name, url in routes.items()}
    assert status == {
        "public": 200,
        "invited_link": 200,
        "other_moment_link": 200,  # public by then: any valid route may serve it
        "media_url": 404,
        "media_url_prefixed": 404,
    }


def test_moving_the_embargo_back_locks_the_file_again(client, setup):
    services.media_moment_update(
        moment=setup["moment"], embargo_until=timezone.now() - timedelta(minutes=1)
    )
    url = _routes(setup)["public"]
    assert client.get(url).status_code == 200
    services.media_moment_update(
        moment=setup["moment"], embargo_until=timezone.now() + timedelta(hours=1)
    )
    assert client.get(url).status_code == 404


def test_exactly_at_the_embargo_time_the_file_is_public(client, setup):
    url = _routes(setup)["public"]
    with freeze_time(setup["embargo"] - timedelta(seconds=1)):
        assert client.get(url).status_code == 404
    with freeze_time(setup["embargo"]):
        assert client.get(url).status_code == 200


def test_removed_journalist_loses_embargoed_access(client, setup):
    services.journalist_remove(journalist=setup["invited"].journalist)
    assert client.get(_routes(setup)["invited_link"]).status_code == 404


def test_staff_may_download_before_embargo(organiser_client, setup):
    assert organiser_client.get(_routes(setup)["public"]).status_code == 200


def test_files_are_stored_outside_media_root_and_have_no_url(setup):
    material = PressMaterial.objects.get()
    path = Path(material.file.path).resolve()
    assert Path(settings.PRESS_MATERIAL_ROOT).resolve() in path.parents
    assert Path(settings.MEDIA_ROOT).resolve() not in path.parents
    with pytest.raises(ValueError):
        material.file.url  # noqa: B018 - the property itself must refuse


def test_default_settings_keep_press_material_out_of_every_served_directory():
    from config.settings import base

    private = Path(base.PRESS_MATERIAL_ROOT).resolve()
    served = [base.MEDIA_ROOT, base.STATIC_ROOT, *base.STATICFILES_DIRS]
    if getattr(base, "WHITENOISE_ROOT", None):
        served.append(base.WHITENOISE_ROOT)
    for directory in (Path(d).resolve() for d in served):
        assert directory not in private.parents and private != directory, directory
        assert private not in directory.parents, directory


def test_media_and_static_serving_cannot_reach_the_file_even_with_debug(client, rf, setup):
    """With DEBUG on, config.urls adds Django's media route, and WhiteNoise serves static
    files: neither has the press file under its root, not even by walking up from it."""
    from django.conf.urls.static import static
    from django.core.exceptions import SuspiciousFileOperation
    from django.http import Http404
    from django.test import override_settings

    name = setup["material"].file.name
    private = Path(settings.PRESS_MATERIAL_ROOT).resolve()
    candidates = [
        name,
        f"press/{name}",
        f"../{private.name}/{name}",
        str(Path(setup["material"].file.path).resolve()),
    ]
    with override_settings(DEBUG=True):
        [route] = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
    # settings.MEDIA_URL carries the script prefix ("/media/"); the route does not.
    media_url, static_url = settings.MEDIA_URL.lstrip("/"), settings.STATIC_URL.lstrip("/")
    for path in candidates:
        match = route.resolve(f"{media_url}{path}")
        assert match is not None, path
        with pytest.raises((Http404, SuspiciousFileOperation)):
            match.func(rf.get(f"/{media_url}{path}"), *match.args, **match.kwargs)
    for path in candidates[:2]:
        assert client.get(f"/{static_url}{path}").status_code == 404


def test_every_view_that_serves_a_press_file_checks_the_embargo():
    """Static inventory behind the route tests above: outside press/ no code touches press
    material, and in press/ every function that hands out a file's bytes asks
    selectors.material_may_download first. A new route (page, API, admin) that serves a file
    without the check fails here."""
    import ast

    root = Path(settings.BASE_DIR)
    outside = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] in (".venv", "tests", "press", "bench") or "migrations" in rel.parts:
            continue
        if "PressMaterial" in path.read_text(encoding="utf-8", errors="ignore"):
            outside.append(str(rel))
    assert outside == []

    serving = {"_file_response", "FileResponse", "open", "read", "chunks", "StreamingHttpResponse"}
    for rel in ("press/views.py", "press/api.py", "press/admin.py"):
        tree = ast.parse((root / rel).read_text(encoding="utf-8"))
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            if func.name == "_file_response":
                continue
            called = {
                (c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", ""))
                for c in ast.walk(func)
                if isinstance(c, ast.Call)
            }
            touches_file = bool(called & serving) and any(
                isinstance(n, ast.Attribute) and n.attr == "file" for n in ast.walk(func)
            )
            if "_file_response" in called or touches_file:
                assert "material_may_download" in called, f"{rel}:{func.name}"


def test_staff_material_page_drops_the_embargo_notice_once_it_has_passed(organiser_client, setup):
    url = reverse("press:staff_material", kwargs={"pk": setup["moment"].pk})
    assert "Onder embargo tot" in organiser_client.get(url).content.decode()
    with freeze_time(setup["embargo"] + timedelta(minutes=1)):
        assert "Onder embargo tot" not in organiser_client.get(url).content.decode()


def test_press_page_marks_embargo_and_hides_links(client, setup):
    page = client.get(reverse("press:page")).content.decode()
    local = timezone.localtime(setup["embargo"], timezone.get_default_timezone())
    assert "Onder embargo tot" in page
    assert local.strftime("%H:%M") in page
    assert reverse("press:material_download", kwargs={"pk": setup["material"].pk}) not in page
    with freeze_time(setup["embargo"] + timedelta(minutes=1)):
        page = client.get(reverse("press:page")).content.decode()
    assert reverse("press:material_download", kwargs={"pk": setup["material"].pk}) in page


def test_invitation_page_marks_embargo_and_links_through_the_personal_route(client, setup):
    token = links.invitation_token(setup["invited"])
    page = client.get(reverse("press:invitation", kwargs={"token": token})).content.decode()
    assert "Onder embargo tot" in page
    assert (
        reverse("press:invitation_material", kwargs={"token": token, "pk": setup["material"].pk})
        in page
    )
