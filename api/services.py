"""Writes owned by the API: organisation tokens and idempotency records."""

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from common.prepared import PreparedInsert, PreparedQuery, PreparedUpdate
from organisations.models import Organisation

from .models import ApiToken, IdempotencyRecord

TOKEN_PREFIX_LENGTH = 8
IDEMPOTENCY_TTL = timedelta(hours=24)
# last_used_at is informational; writing it on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_token_create(*, organisation: Organisation, name: str, user=None) -> tuple[ApiToken, str]:
    """Create a token for the organisation. The raw key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise RuleViolation(_("Give the key a name."), code="invalid", field="name", conflict=False)
    # "wst_" makes leaked keys recognisable to secret scanners; the random part is ~256 bits.
    prefix = secrets.token_hex(TOKEN_PREFIX_LENGTH // 2)
    raw_key = f"wst_{prefix}{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            organisation=organisation,
            name=name[:100],
            prefix=prefix,
            key_hash=_hash_key(raw_key),
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
    return token, raw_key


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; idempotent (revoking twice keeps the first revocation time)."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db(fields=["revoked_at"])
    return token


# Every API request runs this: compiled once (common.prepared).
_active_token_by_prefix = PreparedQuery(
    lambda prefix: ApiToken.objects.select_related("organisation").filter(
        prefix=prefix, revoked_at__isnull=True
    )[:1]
)


def api_token_authenticate(*, raw_key: str) -> ApiToken | None:
    """The active token for a raw key, or None. Compares hashes in constant time."""
    if not raw_key.startswith("wst_") or len(raw_key) < 4 + TOKEN_PREFIX_LENGTH + 1:
        return None
    token = _active_token_by_prefix.first(raw_key[4 : 4 + TOKEN_PREFIX_LENGTH])
    if token is None or not hmac.compare_digest(token.key_hash, _hash_key(raw_key)):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def request_fingerprint(*, method: str, path: str, data) -> str:
    """A stable hash of what was asked: same method, path and JSON body give the same value."""
    canonical = json.dumps(
        {"method": method, "path": path, "data": data},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: dict
    replayed: bool


# Both run on every create sent with a key: built once (common.prepared).
_insert_record = PreparedInsert(IdempotencyRecord)
_store_response = PreparedUpdate(IdempotencyRecord, ["response_status", "response_body"])


def idempotent_call(
    *,
    organisation: Organisation,
    key: str | None,
    fingerprint: str,
    action: Callable[[], tuple[int, dict]],
) -> IdempotentResult:
    """Run `action` (one business service plus rendering its output) at most once per key.

    The record is inserted FIRST, in the same transaction as the business change. A concurrent
    request with the same key blocks on the unique index until the first commits, then gets an
    IntegrityError and replays the stored response. When the action raises, the whole
    transaction (record included) rolls back, so a retry after an error runs again.
    Without a key the action simply runs (clients that do not retry need no key).
    """
    if not key:
        with transaction.atomic():
            status, body = action()
        return IdempotentResult(status, body, replayed=False)
    if len(key) > 255:
        raise RuleViolation(
            _("The Idempotency-Key header may be at most 255 characters."),
            code="invalid",
            field="Idempotency-Key",
            conflict=False,
        )
    for _attempt in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord(
                    organisation=organisation,
                    key=key,
                    request_hash=fingerprint,
                    expires_at=now + IDEMPOTENCY_TTL,
                )
                _insert_record([record])
                status, body = action()
                record.response_status = status
                record.response_body = body
                _store_response(record)
            return IdempotentResult(status, body, replayed=False)
        except IntegrityError:
            # The insert conflicted: a request with this key committed first. (An integrity
            # error from the action itself finds no record and is re-raised.)
            existing = IdempotencyRecord.objects.filter(organisation=organisation, key=key).first()
            if existing is None:
                raise
        if existing.expires_at > now:
            break
        # Expired: it protects nothing any more, so the key starts afresh. Deleting only
        # here keeps the common path at one insert.
        IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
    if existing.request_hash != fingerprint:
        raise RuleViolation(
            _(
                "This Idempotency-Key was already used for a different request. "
                "Use a new key for a new request."
            ),
            code="idempotency_key_reused",
            field="Idempotency-Key",
        )
    return IdempotentResult(existing.response_status, existing.response_body, replayed=True)


def idempotency_records_purge(*, now=None) -> int:
    """Delete records older than their 24-hour lifetime; returns how many were removed."""
    deleted, _details = IdempotencyRecord.objects.filter(
        expires_at__lte=now or timezone.now()
    ).delete()
    return deleted
