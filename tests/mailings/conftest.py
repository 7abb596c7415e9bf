from tests.mail.conftest import (  # noqa: F401 - fixtures
    redis_broker,
    smtp_server,
    smtp_settings,
    start_worker,
)
