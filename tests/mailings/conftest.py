from tests.mail.conftest import smtp_server, smtp_settings  # noqa: F401 - fixtures
