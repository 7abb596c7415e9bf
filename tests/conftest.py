import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need row locks and real concurrency; SQLite cannot prove them."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _broker_backoff_reset():
    """The outbox remembers a failed publish for 30 s (communications.services) so booking
    requests do not each wait for a dead broker. A test that stopped its broker must not make
    the next test's mails skip a broker that is up."""
    from communications import services

    services._broker_down_until[0] = 0.0
    yield
    services._broker_down_until[0] = 0.0


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; without this, requests from earlier tests (all
    from 127.0.0.1) would count against later ones and turn them into 429s."""
    from django.conf import settings
    from django.core.cache import cache

    # Only the per-process memory cache: clear() on a Redis cache would flush the whole Redis
    # database, which may be a Celery broker's.
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        cache.clear()


# Reference rows that data migrations load. A transactional test (live server, threads) ends
# with a flush of every table, which removes them for the tests that follow; reloading them
# here keeps test order irrelevant without serialized_rollback.
REFERENCE_DATA_LOADERS = [
    ("organisations.migrations.0002_load_regions", "load_regions"),
    ("schools.migrations.0002_work_fields", "load"),
]
DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _reference_data(request):
    if request.node.get_closest_marker("django_db") is None and not (
        DB_FIXTURES & set(request.fixturenames)
    ):
        return
    request.getfixturevalue("_django_db_helper")
    import importlib

    from django.apps import apps

    from organisations.models import Region

    if Region.objects.exists():
        return
    for module, function in REFERENCE_DATA_LOADERS:
        try:
            loader = getattr(importlib.import_module(module), function)
        except ModuleNotFoundError:
            continue
        loader(apps, None)


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def organiser(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True, email="organiser@example.nl")


@pytest.fixture
def organiser_client(client, organiser):
    client.force_login(organiser)
    return client
