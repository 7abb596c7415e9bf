"""Audit log, retention (anonymising old events' personal data) and erasure on request.

Anonymising keeps every row (so counts, fill rates and certificates-issued figures stay true)
and overwrites the text that identifies someone with placeholders.
"""

import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.models import Certificate, OutboxMail
from events.models import Event
from participants.models import (
    Answer,
    CampaignParticipation,
    Person,
    Registration,
    Ticket,
    WaitingListEntry,
)

from .audit import audit_record
from .models import RetentionPolicy

__all__ = [
    "audit_record",
    "person_erase",
    "retention_policy_set",
    "retention_run",
]

logger = logging.getLogger(__name__)

ANONYMISED_NAME = "[geanonimiseerd]"
ANONYMISED_DOMAIN = "anonymised.invalid"  # .invalid is reserved (RFC 2606): never deliverable


def anonymised_email(kind: str, pk) -> str:
    return f"{kind}-{pk}@{ANONYMISED_DOMAIN}"


def default_retention_days() -> int:
    return int(getattr(settings, "PRIVACY_DEFAULT_RETENTION_DAYS", 365))


def _optional_model(label: str):
    """Models of apps that may not be installed (schools, press)."""
    try:
        return apps.get_model(label)
    except LookupError:  # app not installed (by label) or model not there
        return None


def _field_names(model) -> set[str]:
    return {f.name for f in model._meta.get_fields()}


# --- Retention -----------------------------------------------------------------------------------


def retention_policy_set(*, event: Event, retention_days: int, user, request=None):
    if retention_days < 0 or retention_days > 3650:
        raise RuleViolation(
            _("Enter a number of days between 0 and 3650."),
            code="invalid",
            field="retention_days",
            conflict=False,
        )
    with transaction.atomic():
        policy, _created = RetentionPolicy.objects.update_or_create(
            event=event, defaults={"retention_days": retention_days}
        )
        audit_record(
            actor=user,
            action="retention.policy_set",
            obj=event,
            request=request,
            retention_days=retention_days,
        )
    return policy


@dataclass
class RetentionReport:
    event_id: int
    event_title: str
    ended_at: datetime
    retention_days: int
    persons: int = 0
    answers: int = 0
    waitlist_entries: int = 0
    press_responses: int = 0
    certificates: int = 0
    mails: int = 0

    @property
    def total(self) -> int:
        return self.persons + self.answers + self.press_responses + self.certificates + self.mails

    def as_dict(self) -> dict:
        data = asdict(self)
        data["ended_at"] = self.ended_at.isoformat()
        return data


def _due_events(now: datetime) -> list[tuple[Event, int]]:
    default = default_retention_days()
    due = []
    for event in Event.objects.filter(ends_at__lt=now).select_related("retention_policy"):
        try:
            days = event.retention_policy.retention_days
        except RetentionPolicy.DoesNotExist:
            days = default
        if event.ends_at + timedelta(days=days) <= now:
            due.append((event, days))
    return due


def _person_links(event_ids, *, negate: bool = False) -> Q:
    """Q for people linked to events in (or, negated, outside) event_ids."""

    def rows(model, person_field):
        qs = model.objects.filter(**{person_field: OuterRef("pk")})
        return qs.exclude(event_id__in=event_ids) if negate else qs.filter(event_id__in=event_ids)

    q = (
        Exists(rows(Ticket, "person"))
        | Exists(rows(Registration, "booker"))
        | Exists(rows(WaitingListEntry, "person"))
        | Exists(rows(CampaignParticipation, "contact"))
    )
    return Q(q)


def _press_invitations(event_ids):
    PressInvitation = _optional_model("press.PressInvitation")
    if PressInvitation is None:
        return None
    return PressInvitation.objects.filter(moment__event_id__in=event_ids)


def _people_to_anonymise(event: Event, due_ids: list[int]):
    """People linked to this event and to no event whose retention has not passed yet.

    Ambassadors and journalists keep their profile (and the person behind it) until they are
    removed or erased: their data is not event data.
    """
    people = Person.objects.filter(anonymised_at__isnull=True).filter(_person_links([event.pk]))
    people = people.exclude(_person_links(due_ids, negate=True))
    for relation in ("ambassador_profile", "journalist", "spokesperson"):
        if relation in _field_names(Person):
            people = people.exclude(**{f"{relation}__isnull": False})
    return people


def _anonymise_people(people_ids: list[int], now: datetime) -> int:
    count = 0
    for person in Person.objects.filter(pk__in=people_ids, anonymised_at__isnull=True):
        person.name = ANONYMISED_NAME
        person.email = anonymised_email("person", person.pk)
        person.phone = ""
        person.user = None
        person.anonymised_at = now
        person.save(update_fields=["name", "email", "phone", "user", "anonymised_at"])
        count += 1
    return count


def _scrub_outbox(mails) -> int:
    """Sent mails keep template, status and dates (delivery figures); who and what goes."""
    count = 0
    for mail in mails.exclude(to_email__endswith=f"@{ANONYMISED_DOMAIN}"):
        mail.to_email = anonymised_email("mail", mail.pk)
        mail.to_name = ""
        mail.subject = ""
        mail.last_error = ""
        # Ids (ints) stay for statistics; names, links and placeholders go.
        mail.context = {k: v for k, v in (mail.context or {}).items() if isinstance(v, int)}
        fields = ["to_email", "to_name", "subject", "last_error", "context", "updated_at"]
        if "@" in mail.key:
            # Mailing keys are `mailing:{id}:{address}`; the key stays unique with the row id.
            mail.key = re.sub(r"[^:\s]+@[^:\s]+", f"erased-{mail.pk}", mail.key)[:200]
            fields.append("key")
        if mail.status not in (OutboxMail.Status.SENT, OutboxMail.Status.FAILED):
            # Never deliver to someone whose data is gone; the rendered mail would be empty.
            mail.status = OutboxMail.Status.FAILED
            mail.next_attempt_at = None
            fields += ["status", "next_attempt_at"]
        mail.save(update_fields=fields)
        count += 1
    return count


def _retention_plan(event: Event, days: int, due_ids: list[int]) -> tuple[RetentionReport, dict]:
    people = _people_to_anonymise(event, due_ids)
    person_ids = list(people.values_list("pk", flat=True))
    answers = Answer.objects.filter(ticket__event=event).exclude(value="")
    entries = WaitingListEntry.objects.filter(event=event, person_id__in=person_ids)
    certificates = Certificate.objects.filter(
        kind=Certificate.Kind.ATTENDEE, ticket__person_id__in=person_ids
    ).exclude(name=ANONYMISED_NAME)
    mails = OutboxMail.objects.filter(
        Q(event=event) | Q(to_email__in=people.values("email"))
    ).exclude(to_email__endswith=f"@{ANONYMISED_DOMAIN}")
    press = _press_invitations([event.pk])
    if press is not None:
        press = press.filter(~Q(accreditation_name="") | ~Q(accreditation_outlet=""))
    report = RetentionReport(
        event_id=event.pk,
        event_title=event.title,
        ended_at=event.ends_at,
        retention_days=days,
        persons=len(person_ids),
        answers=answers.count(),
        waitlist_entries=entries.count(),
        press_responses=press.count() if press is not None else 0,
        certificates=certificates.count(),
        mails=mails.count(),
    )
    plan = {
        "person_ids": person_ids,
        "answers": answers,
        "certificates": certificates,
        "mails": mails,
        "press": press,
    }
    return report, plan


def retention_run(*, now: datetime | None = None, dry_run: bool = False) -> list[RetentionReport]:
    """Anonymise personal data of events whose retention period has passed.

    With dry_run nothing is written; the reports say what would be anonymised per event.
    Idempotent: a second run finds nothing left. Each event is its own transaction, so a
    failure in one does not hold back the others.
    """
    now = now or timezone.now()
    due = _due_events(now)
    due_ids = [event.pk for event, _days in due]
    reports = []
    for event, days in due:
        if dry_run:
            report, _plan = _retention_plan(event, days, due_ids)
        else:
            with transaction.atomic():
                report, plan = _retention_plan(event, days, due_ids)
                if not report.total:
                    continue
                # Outbox first: the plan's mail query matches the people's current addresses.
                _scrub_outbox(plan["mails"])
                plan["answers"].update(value="")
                plan["certificates"].update(name=ANONYMISED_NAME)
                if plan["press"] is not None:
                    plan["press"].update(accreditation_name="", accreditation_outlet="")
                _anonymise_people(plan["person_ids"], now)
                audit_record(
                    actor=None,
                    action="retention.anonymise",
                    obj=event,
                    persons=report.persons,
                    answers=report.answers,
                    waitlist_entries=report.waitlist_entries,
                    press_responses=report.press_responses,
                    certificates=report.certificates,
                    mails=report.mails,
                )
        if report.total:
            reports.append(report)
    return reports


# --- Erasure on request --------------------------------------------------------------------


@dataclass
class ErasureResult:
    persons: int = 0
    users: int = 0
    mails: int = 0
    invoices: int = 0
    other_rows: int = 0
    export_files: int = 0


def _normalise_email(email: str) -> str:
    email = (email or "").strip()
    if "@" not in email or len(email) > 254:
        raise RuleViolation(
            _("Enter a valid e-mail address."), code="invalid", field="email", conflict=False
        )
    return email


def person_erase(*, email: str, user, request=None) -> ErasureResult:
    """Erase everything that identifies the person(s) with this e-mail address.

    Rows stay (bookings, tickets, counts, invoices) with the personal text replaced, so the
    event's statistics and the bookkeeping stay intact; see the invoice rule below.
    Recorded in the audit log by ids only.
    """
    email = _normalise_email(email)
    now = timezone.now()
    result = ErasureResult()
    with transaction.atomic():
        people = list(Person.objects.select_for_update().filter(email__iexact=email))
        person_ids = [p.pk for p in people]
        names = {p.name for p in people if p.name and p.name != ANONYMISED_NAME}
        User = apps.get_model(settings.AUTH_USER_MODEL)
        users = list(User.objects.filter(email__iexact=email))
        if not people and not users and not OutboxMail.objects.filter(to_email__iexact=email):
            raise RuleViolation(
                _("Nothing is stored for this e-mail address."),
                code="not_found",
                field="email",
                conflict=False,
            )
        tickets = Ticket.objects.filter(person_id__in=person_ids)
        result.other_rows += (
            Answer.objects.filter(ticket__in=tickets).exclude(value="").update(value="")
        )
        for certificate in Certificate.objects.filter(
            kind=Certificate.Kind.ATTENDEE, ticket__in=tickets
        ):
            # The stored PDF prints the name; it is rendered again (with the placeholder) on
            # demand.
            if certificate.pdf:
                certificate.pdf.delete(save=False)
            certificate.name = ANONYMISED_NAME
            certificate.pdf = ""
            certificate.save(update_fields=["name", "pdf"])
            result.other_rows += 1
        result.mails = _scrub_outbox(
            OutboxMail.objects.filter(
                Q(to_email__iexact=email) | Q(to_email__in=[p.email for p in people])
            )
        )
        result.invoices = _erase_invoices(email=email, person_ids=person_ids, names=names)
        result.other_rows += _erase_profiles(person_ids)
        result.other_rows += _erase_misc(email=email, names=names, person_ids=person_ids)
        result.persons = _anonymise_people(person_ids, now)
        result.export_files = _delete_export_files()
        for account in users:
            account.email = anonymised_email("user", account.pk)
            if hasattr(account, "username"):
                account.username = anonymised_email("user", account.pk)
            account.first_name = ""
            account.last_name = ""
            account.is_active = False
            account.set_unusable_password()
            account.save()
            result.users += 1
        audit_record(
            actor=user,
            action="privacy.erase",
            obj=("participants.person", ",".join(str(pk) for pk in person_ids)[:64]),
            request=request,
            person_ids=person_ids,
            user_ids=[u.pk for u in users],
            persons=result.persons,
            users=result.users,
            mails=result.mails,
            invoices=result.invoices,
            other_rows=result.other_rows,
            export_files=result.export_files,
        )
    return result


def _delete_export_files() -> int:
    """Back-office export files are copies of attendees, contacts and journalists outside the
    tables; any finished one may hold this person, so they all go (an organiser exports again
    when needed). An export still being written when the erasure commits is not caught here;
    the periodic clean-up removes its file after the keep period."""
    if not apps.is_installed("backoffice"):
        return 0
    from backoffice.services import export_files_delete

    return export_files_delete()


def _erase_invoices(*, email: str, person_ids: list[int], names: set[str]) -> int:
    """Invoices are kept: Dutch tax law (art. 52 AWR) requires keeping them for seven years,
    with their number, date, amounts, VAT and the seller's and buyer's details.

    A business customer (the invoice is addressed to an organisation): the organisation's name,
    address and VAT number are business data and stay; only the contact person's name and
    e-mail address on it are replaced. A private customer (buyer_name is the person): the name
    and e-mail address are replaced with placeholders; the amounts, number, dates and the
    billing address stay, because the bookkeeping must still show what was invoiced where
    (the address is kept under that legal obligation, AVG art. 17(3)(b), not for us).
    Stored invoice PDFs are rendered on demand from these fields, so they follow.
    """
    Invoice = _optional_model("payments.Invoice")
    if Invoice is None:
        return 0
    invoices = Invoice.objects.filter(
        Q(registration__booker_id__in=person_ids) | Q(buyer_email__iexact=email)
    )
    count = 0
    for invoice in invoices:
        business = bool(invoice.registration.organisation_id) or bool(invoice.buyer_vat_number)
        if not business or invoice.buyer_name in names:
            invoice.buyer_name = ANONYMISED_NAME
        if invoice.buyer_contact:
            invoice.buyer_contact = ANONYMISED_NAME
        invoice.buyer_email = anonymised_email("invoice", invoice.pk)
        invoice.save(update_fields=["buyer_name", "buyer_contact", "buyer_email"])
        count += 1
    return count


def _erase_profiles(person_ids: list[int]) -> int:
    """Ambassador and journalist profiles (if those apps are installed)."""
    count = 0
    Ambassador = _optional_model("schools.Ambassador")
    if Ambassador is not None:
        fields = _field_names(Ambassador)
        changes = {}
        if "trainings" in fields:
            changes["trainings"] = ""
        if "is_active" in fields:
            changes["is_active"] = False
        if "user" in fields:
            changes["user"] = None
        if changes:
            count += Ambassador.objects.filter(person_id__in=person_ids).update(**changes)
    Journalist = _optional_model("press.Journalist")
    if Journalist is not None:
        journalists = Journalist.objects.filter(person_id__in=person_ids)
        fields = _field_names(Journalist)
        if "removal_note" in fields:
            count += journalists.update(removal_note="")
        if "removed_at" in fields:
            # Taken off the press list for good: press mailings skip removed journalists.
            journalists.filter(removed_at__isnull=True).update(removed_at=timezone.now())
        PressInvitation = _optional_model("press.PressInvitation")
        if PressInvitation is not None:
            count += PressInvitation.objects.filter(journalist__in=journalists).update(
                accreditation_name="", accreditation_outlet=""
            )
    Spokesperson = _optional_model("press.Spokesperson")
    if Spokesperson is not None and "bio" in _field_names(Spokesperson):
        count += Spokesperson.objects.filter(person_id__in=person_ids).update(bio="")
    return count


def _erase_misc(*, email: str, names: set[str], person_ids: list[int]) -> int:
    count = 0
    Invitation = _optional_model("organisations.Invitation")
    if Invitation is not None:
        for invitation in Invitation.objects.filter(email__iexact=email):
            invitation.email = anonymised_email("invitation", invitation.pk)
            invitation.save(update_fields=["email"])
            count += 1
    Organisation = _optional_model("organisations.Organisation")
    if Organisation is not None and "email" in _field_names(Organisation):
        count += Organisation.objects.filter(email__iexact=email).update(email="")
    # Stored API responses (24 h replay cache) may echo the booking with names: drop them.
    IdempotencyRecord = _optional_model("api.IdempotencyRecord")
    if IdempotencyRecord is not None:
        match = Q(response_body__icontains=email)
        for name in names:
            match |= Q(response_body__icontains=name)
        count += IdempotencyRecord.objects.filter(match).delete()[0]
    # The Django admin's own history stores object reprs ("Name <address>").
    LogEntry = _optional_model("admin.LogEntry")
    if LogEntry is not None:
        match = Q(object_repr__icontains=email) | Q(change_message__icontains=email)
        for name in names:
            match |= Q(object_repr__icontains=name) | Q(change_message__icontains=name)
        if person_ids:
            from django.contrib.contenttypes.models import ContentType

            match |= Q(
                content_type=ContentType.objects.get_for_model(Person),
                object_id__in=[str(pk) for pk in person_ids],
            )
        count += LogEntry.objects.filter(match).update(
            object_repr=ANONYMISED_NAME, change_message=""
        )
    return count


# --- Inzageverzoek -------------------------------------------------------------------------------


def person_export(*, email: str, user, request=None) -> bytes:
    """The JSON export of everything about a person, recorded in the audit log (who looked)."""
    from .selectors import person_data_export_json

    email = _normalise_email(email)
    payload = person_data_export_json(email=email)
    with transaction.atomic():
        audit_record(actor=user, action="privacy.export", obj=None, request=request)
    return payload


def audit_export_record(*, user, request=None, rows: int) -> None:
    audit_record(actor=user, action="audit.export", obj=None, request=request, rows=rows)
