"""registration_create and friends: every rule, and a violation never changes anything."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.errors import RuleViolation
from communications.models import OutboxMail
from events.models import Event
from participants import services
from participants.models import Answer, Person, Registration, Ticket
from tests.factories import OrganisationFactory, TicketTypeFactory

from .conftest import attendee, book

pytestmark = pytest.mark.django_db


def counts():
    return (
        Registration.objects.count(),
        Ticket.objects.count(),
        Person.objects.count(),
        Answer.objects.count(),
        OutboxMail.objects.count(),
    )


def rejected(call, code):
    """Run ``call``, assert it raised ``code`` and wrote nothing; return the error."""
    before = counts()
    with pytest.raises(RuleViolation) as info:
        call()
    assert info.value.code == code, (info.value.code, info.value.errors)
    assert counts() == before
    return info.value


def mail_keys():
    return set(OutboxMail.objects.values_list("key", flat=True))


# --- statuses and mails ----------------------------------------------------------------------


def test_free_booking_is_confirmed_with_mails(event, free_type):
    reg = book(event, free_type, count=2)
    assert reg.status == Registration.Status.CONFIRMED
    tickets = list(reg.tickets.all())
    assert [t.status for t in tickets] == [Ticket.Status.VALID] * 2
    assert mail_keys() == {f"ticket_confirmed:{t.pk}" for t in tickets} | {
        f"booking_confirmed:{reg.pk}"
    }
    mail = OutboxMail.objects.get(key=f"ticket_confirmed:{tickets[0].pk}")
    assert mail.template == "ticket_confirmed"
    assert mail.to_email == tickets[0].person.email
    assert mail.context == {"ticket_id": tickets[0].pk}
    pdf, ics = mail.attachments
    assert pdf == {"type": "ticket_pdf", "ticket_id": tickets[0].pk}
    # The invite carries the event as it was at the booking (communications.calendars).
    assert ics == {
        "type": "ics",
        "event_id": event.pk,
        "method": "REQUEST",
        "ticket_id": tickets[0].pk,
        "event": ics["event"],
    }
    assert ics["event"]["sequence"] == event.revision
    # Booker plus one Person per attendee.
    assert Person.objects.count() == 3


def test_paid_online_booking_holds_places_and_calls_payments(event, paid_type, monkeypatch):
    called = []
    monkeypatch.setattr(
        "payments.hooks.on_registration_created",
        lambda *, registration: called.append(registration.pk),
    )
    before = timezone.now()
    reg = book(event, paid_type)
    assert reg.status == Registration.Status.AWAITING_PAYMENT
    assert reg.hold_expires_at >= before + timedelta(minutes=event.payment_hold_minutes)
    assert reg.tickets.get().status == Ticket.Status.RESERVED
    assert called == [reg.pk]
    assert mail_keys() == set()  # nothing until paid
    # The reserved place counts against capacity.
    event.capacity = 1
    event.save()
    rejected(lambda: book(event, paid_type, n=2), "sold_out")


def test_invoice_needs_an_organisation(event, paid_type):
    err = rejected(lambda: book(event, paid_type, payment_method="invoice"), "not_allowed")
    assert "payment_method" in err.errors
    assert err.conflict is False


def test_invoice_with_organisation_is_confirmed(event, paid_type, monkeypatch):
    called = []
    monkeypatch.setattr(
        "payments.hooks.on_registration_created",
        lambda *, registration: called.append(registration.status),
    )
    org = OrganisationFactory()
    reg = book(event, paid_type, payment_method="invoice", organisation=org)
    assert reg.status == Registration.Status.CONFIRMED
    assert reg.payment_method == "invoice"
    assert called == [Registration.Status.CONFIRMED]
    assert reg.tickets.get().person.organisation == org


def test_approval_flow(event, free_type, organiser):
    event.requires_approval = True
    event.save()
    reg = book(event, free_type)
    assert reg.status == Registration.Status.PENDING_APPROVAL
    assert reg.tickets.get().status == Ticket.Status.RESERVED
    assert mail_keys() == {f"booking_pending:{reg.pk}"}
    services.registration_approve(registration=reg, user=organiser)
    assert reg.status == Registration.Status.CONFIRMED
    assert reg.tickets.get().status == Ticket.Status.VALID
    assert f"booking_confirmed:{reg.pk}" in mail_keys()
    # Idempotent.
    services.registration_confirm(registration=reg)
    assert OutboxMail.objects.filter(template="booking_confirmed").count() == 1


def test_approval_of_paid_booking_waits_for_payment(event, paid_type, organiser):
    event.requires_approval = True
    event.save()
    reg = book(event, paid_type)
    services.registration_approve(registration=reg, user=organiser)
    assert reg.status == Registration.Status.AWAITING_PAYMENT
    assert reg.hold_expires_at is not None
    services.registration_confirm(registration=reg)
    assert reg.status == Registration.Status.CONFIRMED


def test_reject_frees_places(event, free_type, organiser):
    event.requires_approval = True
    event.capacity = 1
    event.save()
    reg = book(event, free_type)
    services.registration_reject(registration=reg, user=organiser, reason="Vol")
    assert reg.status == Registration.Status.REJECTED
    assert reg.tickets.get().status == Ticket.Status.CANCELLED
    mail = OutboxMail.objects.get(key=f"booking_rejected:{reg.pk}")
    assert mail.context == {"registration_id": reg.pk, "reason": "Vol"}
    assert book(event, free_type, n=2).status == Registration.Status.PENDING_APPROVAL
    with pytest.raises(RuleViolation) as info:
        services.registration_approve(registration=reg, user=organiser)
    assert info.value.code == "not_allowed"


def test_expire_frees_places_and_late_payment_reactivates_if_possible(event, paid_type):
    event.capacity = 1
    event.save()
    reg = book(event, paid_type)
    services.registration_expire(registration=reg)
    services.registration_expire(registration=reg)  # idempotent
    assert reg.status == Registration.Status.EXPIRED
    assert reg.tickets.get().status == Ticket.Status.CANCELLED
    assert OutboxMail.objects.filter(key=f"booking_expired:{reg.pk}").count() == 1
    # A payment that arrives late while the place is still free confirms the booking.
    services.registration_confirm(registration=reg)
    assert reg.status == Registration.Status.CONFIRMED
    assert reg.tickets.get().status == Ticket.Status.VALID


def test_late_payment_does_not_revive_a_ticket_cancelled_before(event, paid_type):
    reg = book(event, paid_type, count=2)
    first, second = reg.tickets.order_by("pk")
    services.ticket_cancel(ticket=first)
    services.registration_expire(registration=reg)
    services.registration_confirm(registration=reg)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Ticket.Status.CANCELLED, Ticket.Status.VALID)


def test_late_payment_when_place_is_gone_is_sold_out(event, paid_type, free_type):
    event.capacity = 1
    event.save()
    reg = book(event, paid_type)
    services.registration_expire(registration=reg)
    book(event, free_type, n=2)
    with pytest.raises(RuleViolation) as info:
        services.registration_confirm(registration=reg)
    assert info.value.code == "sold_out"
    reg.refresh_from_db()
    assert reg.status == Registration.Status.EXPIRED


# --- window ----------------------------------------------------------------------------------


def test_window_not_open_yet(event, free_type):
    event.registration_opens_at = timezone.now() + timedelta(days=1)
    event.save()
    rejected(lambda: book(event, free_type), "registration_not_open")


def test_draft_event_is_not_open(event, free_type):
    event.status = Event.Status.DRAFT
    event.save()
    rejected(lambda: book(event, free_type), "registration_not_open")


def test_window_closed(event, free_type):
    event.registration_opens_at = timezone.now() - timedelta(days=2)
    event.registration_closes_at = timezone.now() - timedelta(days=1)
    event.save()
    rejected(lambda: book(event, free_type), "registration_closed")


def test_cancelled_event_is_closed(event, free_type):
    event.status = Event.Status.CANCELLED
    event.save()
    rejected(lambda: book(event, free_type), "registration_closed")


def test_window_open_books(event, free_type):
    event.registration_opens_at = timezone.now() - timedelta(days=1)
    event.registration_closes_at = timezone.now() + timedelta(days=1)
    event.save()
    assert book(event, free_type).status == Registration.Status.CONFIRMED


# --- attendees and e-mail addresses ----------------------------------------------------------


def test_too_many_attendees(event, free_type):
    event.max_tickets_per_booking = 2
    event.save()
    err = rejected(lambda: book(event, free_type, count=3), "too_many_attendees")
    assert err.conflict is False and "attendees" in err.errors
    assert book(event, free_type, count=2).tickets.count() == 2


def test_no_attendees(event, free_type):
    err = rejected(
        lambda: services.registration_create(
            event=event, booker_name="B", booker_email="b@example.nl", attendees=[]
        ),
        "invalid",
    )
    assert "attendees" in err.errors


def test_duplicate_email_within_booking_case_insensitive(event, free_type):
    err = rejected(
        lambda: book(
            event,
            free_type,
            attendees=[
                attendee(free_type, email="Anna@Example.nl"),
                attendee(free_type, email="anna@example.NL"),
            ],
        ),
        "duplicate_email",
    )
    assert list(err.errors) == ["attendees.1.email"]
    assert err.conflict is False


def test_duplicate_email_across_bookings(event, free_type):
    book(event, free_type, attendees=[attendee(free_type, email="anna@example.nl")])
    err = rejected(
        lambda: book(
            event, free_type, n=2, attendees=[attendee(free_type, email="ANNA@example.nl")]
        ),
        "duplicate_email",
    )
    assert "attendees.0.email" in err.errors
    assert err.conflict is True


def test_duplicate_email_allowed_when_event_allows(event, free_type):
    event.allow_duplicate_emails = True
    event.save()
    same = [attendee(free_type, email="anna@example.nl")] * 2
    book(event, free_type, attendees=same)
    book(event, free_type, n=2, attendees=same)
    assert Ticket.objects.filter(person__email="anna@example.nl").count() == 4


def test_cancelled_ticket_frees_the_email(event, free_type):
    reg = book(event, free_type, attendees=[attendee(free_type, email="anna@example.nl")])
    services.registration_cancel(registration=reg)
    book(event, free_type, n=2, attendees=[attendee(free_type, email="anna@example.nl")])


def test_bad_names_and_emails_are_field_errors(event, free_type):
    err = rejected(
        lambda: services.registration_create(
            event=event,
            booker_name="",
            booker_email="geen-email",
            attendees=[attendee(free_type, name=" ", email="x@")],
        ),
        "invalid",
    )
    assert set(err.errors) == {
        "booker_name",
        "booker_email",
        "attendees.0.name",
        "attendees.0.email",
    }


def test_ticket_type_must_belong_to_event_and_be_active(event, free_type):
    other = TicketTypeFactory()
    rejected(lambda: book(event, other), "invalid")
    free_type.is_active = False
    free_type.save()
    err = rejected(lambda: book(event, free_type), "invalid")
    assert "attendees.0.ticket_type" in err.errors


def test_errors_are_translated(event, free_type):
    from django.utils import translation

    with translation.override("nl"):
        err = rejected(lambda: book(event, free_type, booker_email="fout"), "invalid")
    assert err.errors["booker_email"] == ["Vul een geldig e-mailadres in."]


# --- answers ---------------------------------------------------------------------------------


def test_answers_are_validated_per_attendee(event, free_type, questions):
    q = questions
    good = {q["choice"].pk: "A", q["yes_no"].pk: "yes"}
    err = rejected(
        lambda: book(
            event,
            free_type,
            attendees=[
                attendee(free_type, 0, answers=good),
                attendee(free_type, 1, answers={q["choice"].pk: "C", q["yes_no"].pk: "ja"}),
                attendee(free_type, 2, answers={q["yes_no"].pk: "no", 999999: "x"}),
            ],
        ),
        "invalid_answer",
    )
    assert set(err.errors) == {
        f"attendees.1.answers.{q['choice'].pk}",
        f"attendees.1.answers.{q['yes_no'].pk}",
        f"attendees.2.answers.{q['choice'].pk}",  # required, missing
        "attendees.2.answers.999999",  # unknown question
    }
    assert err.conflict is False


def test_answers_are_stored(event, free_type, questions):
    q = questions
    reg = book(
        event,
        free_type,
        attendees=[
            attendee(
                free_type,
                answers={q["choice"].pk: "B", q["yes_no"].pk: "no", q["text"].pk: " Vegan "},
            )
        ],
    )
    stored = dict(Answer.objects.filter(ticket__registration=reg).values_list("question", "value"))
    assert stored == {q["choice"].pk: "B", q["yes_no"].pk: "no", q["text"].pk: "Vegan"}


def test_question_of_another_event_is_unknown(event, free_type):
    from tests.factories import QuestionFactory

    foreign = QuestionFactory()
    err = rejected(
        lambda: book(event, free_type, attendees=[attendee(free_type, answers={foreign.pk: "x"})]),
        "invalid_answer",
    )
    assert f"attendees.0.answers.{foreign.pk}" in err.errors


# --- capacity --------------------------------------------------------------------------------


def test_sold_out_and_ticket_type_sold_out(event, free_type):
    event.capacity = 3
    event.save()
    small = TicketTypeFactory(event=event, name="Klein", capacity=1)
    book(event, small, n=1)
    rejected(lambda: book(event, small, n=2), "ticket_type_sold_out")
    book(event, free_type, n=3)
    rejected(lambda: book(event, free_type, n=4, count=2), "sold_out")
    book(event, free_type, n=5)
    rejected(lambda: book(event, free_type, n=6), "sold_out")


# --- cancel and change -----------------------------------------------------------------------


def test_cancel_booking_mails_and_calls_payments(event, free_type, monkeypatch):
    cancelled = []
    monkeypatch.setattr(
        "payments.hooks.on_tickets_cancelled",
        lambda *, tickets, by_organiser: cancelled.append(
            (sorted(t.pk for t in tickets), by_organiser)
        ),
    )
    reg = book(event, free_type, count=2)
    ids = sorted(reg.tickets.values_list("pk", flat=True))
    services.registration_cancel(registration=reg)
    assert reg.status == Registration.Status.CANCELLED
    # The booker cancelled: payments applies the event's refund policy.
    assert cancelled == [(ids, False)]
    for pk in ids:
        mail = OutboxMail.objects.get(key=f"ticket_cancelled:{pk}")
        [ics] = mail.attachments
        # A CANCEL that removes these attendees only, under a new SEQUENCE (RFC 5546 3.2.5).
        assert ics == {
            "type": "ics",
            "event_id": event.pk,
            "method": "CANCEL",
            "ticket_id": pk,
            "attendee_removed": True,
            "event": ics["event"],
        }
        assert ics["event"]["sequence"] == event.revision + 1
    rejected(lambda: services.registration_cancel(registration=reg), "already_cancelled")


def test_cancel_after_deadline_only_by_organiser(event, free_type):
    reg = book(event, free_type, count=2)
    event.cancellation_deadline = timezone.now() - timedelta(minutes=1)
    event.save()
    rejected(lambda: services.registration_cancel(registration=reg), "deadline_passed")
    ticket = reg.tickets.first()
    rejected(lambda: services.ticket_cancel(ticket=ticket), "deadline_passed")
    rejected(
        lambda: services.ticket_update_attendee(ticket=ticket, name="Nieuw"), "deadline_passed"
    )
    services.ticket_cancel(ticket=ticket, actor="organiser")
    assert ticket.status == Ticket.Status.CANCELLED
    services.registration_cancel(registration=reg, actor="organiser")
    assert reg.status == Registration.Status.CANCELLED


def test_cancel_last_ticket_cancels_booking(event, free_type):
    reg = book(event, free_type, count=2)
    first, second = reg.tickets.all()
    services.ticket_cancel(ticket=first)
    reg.refresh_from_db()
    assert reg.status == Registration.Status.CONFIRMED
    services.ticket_cancel(ticket=second)
    reg.refresh_from_db()
    assert reg.status == Registration.Status.CANCELLED
    with pytest.raises(RuleViolation) as info:
        services.ticket_cancel(ticket=second)
    assert info.value.code == "already_cancelled"


def test_rename_keeps_ticket_and_person(event, free_type):
    reg = book(event, free_type)
    ticket = reg.tickets.get()
    secret = ticket.secret
    services.ticket_update_attendee(ticket=ticket, name="Anna de Vries")
    ticket.refresh_from_db()
    assert ticket.person.name == "Anna de Vries"
    assert ticket.secret == secret


def test_swap_attendee_rotates_secret_and_mails_both(event, free_type):
    reg = book(event, free_type, attendees=[attendee(free_type, email="oud@example.nl")])
    ticket = reg.tickets.get()
    old_person, old_secret = ticket.person, ticket.secret
    services.ticket_update_attendee(ticket=ticket, name="Nieuw", email="nieuw@example.nl")
    ticket.refresh_from_db()
    assert ticket.person.email == "nieuw@example.nl" and ticket.person != old_person
    assert ticket.secret != old_secret
    out = OutboxMail.objects.get(key=f"ticket_cancelled:{ticket.pk}:swap:{old_person.pk}")
    assert out.to_email == "oud@example.nl"
    new = OutboxMail.objects.get(key=f"ticket_confirmed:{ticket.pk}:{ticket.person.pk}")
    assert new.to_email == "nieuw@example.nl"


def test_swap_to_email_that_already_has_a_ticket(event, free_type):
    book(event, free_type, attendees=[attendee(free_type, email="bezet@example.nl")])
    reg = book(event, free_type, n=2)
    ticket = reg.tickets.get()
    rejected(
        lambda: services.ticket_update_attendee(ticket=ticket, name="X", email="BEZET@example.nl"),
        "duplicate_email",
    )
    err = rejected(
        lambda: services.ticket_update_attendee(ticket=ticket, name="", email="fout"), "invalid"
    )
    assert set(err.errors) == {"name", "email"}


# --- ticket_add ------------------------------------------------------------------------------


def test_ticket_add(event, free_type, paid_type):
    org = OrganisationFactory()
    event.max_tickets_per_booking = 2
    event.save()
    reg = book(event, free_type, organisation=org)
    ticket = services.ticket_add(registration=reg, attendee=attendee(free_type, "extra"))
    assert ticket.status == Ticket.Status.VALID
    assert ticket.person.organisation == org
    assert OutboxMail.objects.filter(key=f"ticket_confirmed:{ticket.pk}").exists()
    rejected(
        lambda: services.ticket_add(registration=reg, attendee=attendee(free_type, "x")),
        "too_many_attendees",
    )


def test_ticket_add_rules(event, free_type, paid_type):
    reg = book(event, free_type)
    rejected(
        lambda: services.ticket_add(registration=reg, attendee=attendee(paid_type, "p")),
        "not_allowed",
    )
    rejected(
        lambda: services.ticket_add(
            registration=reg, attendee=attendee(free_type, email="deelnemer0-0@example.nl")
        ),
        "duplicate_email",
    )
    event.capacity = 1
    event.save()
    rejected(
        lambda: services.ticket_add(registration=reg, attendee=attendee(free_type, "y")),
        "sold_out",
    )
