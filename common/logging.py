"""Logging filters shared by the settings."""

import logging


class DropExpectedConflicts(logging.Filter):
    """Drop ``django.request``'s warning for 409 answers.

    A 409 is a business outcome the client is told about (sold out, already booked, a slot
    taken), not trouble on the server: during a booking rush there are thousands, and logged
    as warnings they bury the ones that matter. Other 4xx answers are still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != 409
