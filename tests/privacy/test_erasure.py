"""Inzageverzoek (export) and erasure on request.

The erasure test spreads one person with a unique name, address and phone number over every
app through the real services where practical, erases, and then reads every text, char and
JSON column of every model in the project looking for those strings.
"""

import json
import os
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from common.errors import RuleViolation
from communications.documents import certificate_issue
from communications.models import OutboxMail
from mailings import services as mailing_services
from mailings.models import Segment
from participants.checkin import ticket_check_in
from participants.models import Person, Ticket
from participants.services import AttendeeInput, registration_create
from privacy.models import AuditEntry
from privacy.selectors import person_data_export
from privacy.services import person_erase
from tests.factories import (
    CampaignParticipationFactory,
    EventFactory,
    OrganisationFactory,
    PersonFactory,
    QuestionFactory,
    TicketTypeFactory,
    UserFactory,
    WaitingListEntryFactory,
)

pytestmark = pytest.mark.django_db

NAME = "Quirijn Xylofoonbouwer"
EMAIL = "q.xylofoon-erase@voorbeeld-uniek.nl"
PHONE = "+31 6 9876 5432"
ANSWER = "Notenallergie Xylofoon"
NEEDLES = [NAME, "Xylofoonbouwer", EMAIL.lower(), "xylofoon-erase", PHONE, "9876 5432", ANSWER]


# Column types that hold text, by the database's own type name: char/varchar/text, JSON, and
# PostgreSQL's inet. Judged by column type rather than field class, so file paths
# (FileField), IP addresses and any field class added later are searched too.
TEXT_COLUMN_TYPES = ("char", "text", "json", "inet", "clob")


def text_fields(model) -> list[str]:
    fields = []
    for f in model._meta.concrete_fields:
        column_type = (f.db_type(connection) or "").lower()
        if any(kind in column_type for kind in TEXT_COLUMN_TYPES) or isinstance(
            f, models.CharField | models.TextField | models.JSONField | models.FileField
        ):
            fields.append(f.attname)
    return fields


def test_the_search_covers_every_text_column_type():
    """Control: file paths, e-mail, URL and JSON columns are searched, numbers are not."""
    from backoffice.models import ExportJob
    from communications.models import Certificate, OutboxMail
    from privacy.models import AuditEntry as Entry

    assert "pdf" in text_fields(Certificate) and "file" in text_fields(ExportJob)
    assert {"to_email", "context"} <= set(text_fields(OutboxMail))
    assert "ip_address" in text_fields(Entry) or connection.vendor == "sqlite"
    assert "rows_done" not in text_fields(ExportJob)


def find_personal_data() -> list[tuple[str, str, str]]:
    """Every (model, column, value) in the whole database that contains one of the needles."""
    hits = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = text_fields(model)
        if not fields:
            continue
        for row in model._default_manager.values_list("pk", *fields).iterator():
            for field, value in zip(fields, row[1:], strict=True):
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                for needle in NEEDLES:
                    if needle.lower() in (text or "").lower():
                        hits.append((model._meta.label, field, text[:120]))
    return hits


@pytest.fixture
def spread_person(organiser, tmp_path, settings):
    """One person in every corner of the system, plus a bystander who must stay intact."""
    settings.MEDIA_ROOT = str(tmp_path)
    event = EventFactory()
    paid = TicketTypeFactory(event=event, price_cents=12500)
    question = QuestionFactory(event=event, label="Dieetwensen")
    organisation = OrganisationFactory(vat_number="NL123456789B01")
    colleague = AttendeeInput(
        name="Collega Blijft", email="collega@example.nl", ticket_type_id=paid.pk
    )
    registration = registration_create(
        event=event,
        booker_name=NAME,
        booker_email=EMAIL,
        attendees=[
            AttendeeInput(
                name=NAME, email=EMAIL, ticket_type_id=paid.pk, answers={question.pk: ANSWER}
            ),
            colleague,
        ],
        organisation=organisation,
        payment_method="invoice",
    )
    ticket = registration.tickets.get(person__email=EMAIL)
    person = ticket.person
    Person.objects.filter(email=EMAIL).update(phone=PHONE)
    # A private invoice (no organisation): the buyer's name is the person's name.
    from payments.models import Invoice

    business_invoice = Invoice.objects.get(registration=registration)
    private = Invoice.objects.get(pk=business_invoice.pk)
    private.pk = None
    private.number, private.key, private.sequence = "2099-99999", "private-test", 99999
    private.buyer_name, private.buyer_contact, private.buyer_vat_number = NAME, "", ""
    private.buyer_address = "Dorpsstraat 1, 1234 AB Ergens"
    private.save()
    # Check-in (audited) at the door and, once the event has ended, a certificate with the
    # name on it.
    with freeze_time(event.starts_at):
        ticket_check_in(secret=ticket.secret, event=event, user=organiser)
    with freeze_time(event.ends_at + timedelta(minutes=1)):
        certificate_issue(ticket=Ticket.objects.get(pk=ticket.pk))
    # Waiting list, campaign-week contact, a user account, an invitation.
    WaitingListEntryFactory(
        event=event, ticket_type=paid, person=PersonFactory(name=NAME, email=EMAIL)
    )
    CampaignParticipationFactory(
        contact=PersonFactory(name=NAME, email=EMAIL, phone=PHONE),
        activities_description="Lunch met collega's",
    )
    user = UserFactory(email=EMAIL, first_name="Quirijn", last_name="Xylofoonbouwer")
    from organisations.models import Invitation

    Invitation.objects.create(
        organisation=organisation,
        email=EMAIL,
        role="member",
        invited_by=organiser,
        expires_at=timezone.now() + timedelta(days=7),
    )
    # A mailing to the event's attendees (the placeholders hold the name).
    mailing = mailing_services.mailing_create(
        created_by=organiser,
        segment=Segment.EVENT_ATTENDEES,
        event=event,
        subject_nl="Hallo {{ naam }}",
        body_nl="Beste {{ naam }}",
    )
    mailing_services.mailing_send(mailing=mailing, user=organiser)
    mailing_services.mailing_send_run(mailing_id=mailing.pk)  # the send job it queues
    OutboxMail.objects.filter(to_email=EMAIL).update(last_error=f"550 <{EMAIL}> mailbox full")
    # The Django admin's own history (object reprs) and a stored API response.
    LogEntry.objects.create(
        user_id=organiser.pk,
        content_type=ContentType.objects.get_for_model(Person),
        object_id=str(person.pk),
        object_repr=str(person),
        action_flag=CHANGE,
        change_message="[]",
    )
    from api.models import IdempotencyRecord

    IdempotencyRecord.objects.create(
        organisation=organisation,
        key="k1",
        request_hash="0" * 64,
        response_status=201,
        response_body={"attendees": [{"name": NAME, "email": EMAIL}]},
        expires_at=timezone.now() + timedelta(hours=24),
    )
    if apps.is_installed("schools"):
        from schools.models import Ambassador, WorkField

        Ambassador.objects.create(
            person=PersonFactory(name=NAME, email=EMAIL, phone=PHONE),
            work_field=WorkField.objects.create(name="Zorg", slug="zorg-x"),
            trainings=f"Training door {NAME}",
        )
    if apps.is_installed("press"):
        from press.models import PressInvitation
        from tests.press.helpers import invite, journalist, moment

        press_person = journalist(name=NAME, email=EMAIL, topics="werk")
        PressInvitation.objects.filter(pk=invite(moment(), press_person).pk).update(
            accreditation_name=NAME
        )
    return {"event": event, "registration": registration, "user": user}


def test_export_lists_every_row_about_the_person(spread_person, organiser_client):
    data = person_data_export(email=EMAIL.upper())
    records = data["records"]
    assert len(records["participants.person"]) >= 4
    for label in (
        "participants.ticket",
        "participants.registration",
        "participants.answer",
        "participants.waitinglistentry",
        "participants.campaignparticipation",
        "communications.outboxmail",
        "communications.certificate",
        "payments.invoice",
        "accounts.user",
        "organisations.invitation",
    ):
        assert records.get(label), label
    assert all("secret" not in row for row in records["participants.ticket"])
    assert all("password" not in row for row in records["accounts.user"])
    # The colleague on the same booking is not exported as a person.
    assert "Collega Blijft" not in str(records["participants.person"])

    response = organiser_client.get(reverse("privacy:person"), {"email": EMAIL, "format": "json"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    body = json.loads(response.content)
    assert body["email"] == EMAIL and body["records"]["participants.answer"][0]["value"] == ANSWER
    assert AuditEntry.objects.filter(action="privacy.export").exists()


def test_erasure_leaves_no_personal_data_in_any_table(spread_person, organiser):
    assert find_personal_data(), "the fixture must put the data somewhere"
    result = person_erase(email=EMAIL, user=organiser)
    assert find_personal_data() == []
    assert result.persons >= 4 and result.users == 1 and result.invoices == 2
    # Statistics and bookkeeping survive; the bystander too.
    registration = spread_person["registration"]
    assert registration.tickets.count() == 2
    assert Person.objects.filter(name="Collega Blijft", email="collega@example.nl").exists()
    from payments.models import Invoice

    business = Invoice.objects.exclude(key="private-test").get(registration=registration)
    assert business.buyer_name == registration.organisation.name  # business data stays
    assert business.total_cents if hasattr(business, "total_cents") else True
    private = Invoice.objects.get(key="private-test")
    assert private.number == "2099-99999" and private.buyer_address
    # Erasure is in the audit log, by ids only.
    entry = AuditEntry.objects.get(action="privacy.erase")
    assert entry.actor_id == organiser.pk and entry.details["users"] == 1
    # Unsent mail to the person is never delivered now.
    assert not OutboxMail.objects.filter(
        status__in=["queued", "retrying", "sending"], to_email__endswith="anonymised.invalid"
    ).exists()
    user = spread_person["user"]
    user.refresh_from_db()
    assert not user.is_active and not user.has_usable_password()


def test_erasure_page_requires_confirmation_and_reports(spread_person, organiser_client):
    url = reverse("privacy:person")
    found = organiser_client.get(url, {"email": EMAIL})
    assert found.status_code == 200 and "participants.person" in found.content.decode()
    refused = organiser_client.post(url, {"email": EMAIL})
    assert refused.status_code == 400 and 'id="id_confirm_error"' in refused.content.decode()
    assert find_personal_data()
    done = organiser_client.post(url, {"email": EMAIL, "confirm": "on"})
    assert done.status_code == 302
    assert find_personal_data() == []


def test_erasure_of_an_unknown_address_is_a_field_error(organiser):
    with pytest.raises(RuleViolation) as info:
        person_erase(email="niemand@example.nl", user=organiser)
    assert "email" in info.value.errors
    with pytest.raises(RuleViolation):
        person_erase(email="geen-adres", user=organiser)
    assert not AuditEntry.objects.filter(action="privacy.erase").exists()


def test_erasure_deletes_back_office_export_files(spread_person, organiser, settings, tmp_path):
    """Export files copy people out of the tables (the search above cannot see them): an
    erasure deletes every finished one; the job rows stay without a file."""
    from backoffice.models import ExportJob
    from backoffice.tasks import render_export_task

    settings.EXPORT_ROOT = tmp_path / "exports"
    job = ExportJob.objects.create(kind="attendees", format="csv", requested_by=organiser)
    render_export_task(job.pk)
    job.refresh_from_db()
    path = job.file.path
    with open(path, encoding="utf-8-sig") as handle:
        assert EMAIL in handle.read()
    result = person_erase(email=EMAIL, user=organiser)
    job.refresh_from_db()
    assert result.export_files == 1 and not job.file and job.status == "done"
    assert not os.path.exists(path)
    entry = AuditEntry.objects.get(action="privacy.erase")
    assert entry.details["export_files"] == 1
