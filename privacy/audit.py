"""The audit log writer. Other apps call `privacy.services.audit_record` (re-exported there).

Kept in its own module with no imports of other apps, so any app can call it without import
cycles.
"""

import ipaddress
import logging
import re

from django.db import models

from common.ratelimit import client_ip

from .models import AuditEntry

logger = logging.getLogger(__name__)

# Codes, statuses and keys only: no spaces (names), no "@" (e-mail addresses), short.
_SAFE_TEXT = re.compile(r"^[A-Za-z0-9_.:\-]{0,64}$")


def _safe_value(value):
    """Return the value if it cannot carry someone's personal data, else None (dropped)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if _SAFE_TEXT.match(value) else None
    if isinstance(value, list | tuple):
        items = [_safe_value(item) for item in value]
        if any(item is None and orig is not None for item, orig in zip(items, value, strict=True)):
            return None
        return items
    if isinstance(value, models.Model):
        return value.pk
    return None


def _object_ref(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, models.Model):
        return obj._meta.label_lower, str(obj.pk)
    if isinstance(obj, tuple) and len(obj) == 2:
        # ("participants.person", 12): for objects that are gone (an erased person).
        return str(obj[0]), str(obj[1])
    raise TypeError(f"audit_record: obj must be a model instance or (type, id), not {obj!r}")


def _request_ip(request) -> str | None:
    if request is None:
        return None
    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def audit_record(*, actor, action: str, obj=None, request=None, **details) -> AuditEntry:
    """Record one organiser action. Call inside the action's transaction.

    `actor` is a user (or None for the system, e.g. a periodic job); `obj` a model instance or a
    `(label, id)` pair. `details` must be ids, codes or counts: a value that could hold personal
    data (free text with spaces, an e-mail address, long strings) is dropped and logged, never
    stored, because audit entries are kept after an erasure request.
    """
    object_type, object_id = _object_ref(obj)
    clean: dict = {}
    for key, value in details.items():
        safe = _safe_value(value)
        if safe is None and value is not None:
            logger.warning(
                "audit_record(%s): detail %r dropped (may be personal data)", action, key
            )
            continue
        clean[key] = safe
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    return AuditEntry.objects.create(
        actor_id=actor_id,
        action=action[:60],
        object_type=object_type[:100],
        object_id=object_id[:64],
        ip_address=_request_ip(request),
        details=clean,
    )
