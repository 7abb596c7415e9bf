"""The one error type for business-rule violations.

Services raise RuleViolation; the API exception handler and the page views map it once to a
clear, translated message (HTTP 400 for bad input, 409 for a conflict with the current state).
"""

from django.utils.functional import Promise


class RuleViolation(Exception):
    """A request that breaks a business rule. Raised before anything is written, or inside an
    atomic block so that the whole change is rolled back."""

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str = "rule_violation",
        field: str | None = None,
        conflict: bool = True,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.field = field
        # True: the request was well-formed but the state forbids it (409); False: bad input (400).
        self.conflict = conflict
        self.errors = errors or ({field: [str(message)]} if field else {})

    @property
    def http_status(self) -> int:
        return 409 if self.conflict else 400
