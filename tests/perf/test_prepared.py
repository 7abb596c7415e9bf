"""common.prepared: queries and inserts built once must give what the ORM gives, every time."""

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext

from api.models import ApiToken, IdempotencyRecord
from api.services import api_token_create
from common.prepared import PreparedInsert, PreparedQuery, PreparedUpdate, attach_prefetched
from communications.models import OutboxMail
from events.models import Event
from participants import selectors
from participants.models import Person, Registration, Ticket
from tests.factories import EventFactory, OrganisationFactory, QuestionFactory, TicketTypeFactory

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_prepared_query_equals_the_queryset_for_new_values_and_follows_select_related():
    org_a, org_b = OrganisationFactory(name="A"), OrganisationFactory(name="B")
    tokens = [api_token_create(organisation=o, name="k")[0] for o in (org_a, org_b, org_b)]
    tokens[2].revoked_at = tokens[2].created_at
    tokens[2].save()

    def build(prefix):
        return ApiToken.objects.select_related("organisation").filter(
            prefix=prefix, revoked_at__isnull=True
        )

    query = PreparedQuery(build)
    for token in tokens:  # the same compiled SQL, a different value each time
        expected = list(build(token.prefix))
        got = query(token.prefix)
        assert [_fields(t) for t in got] == [_fields(t) for t in expected]
        for row in got:
            # select_related filled, no query to reach the organisation
            with CaptureQueriesContext(connection) as ctx:
                assert row.organisation.name in ("A", "B")
            assert len(ctx) == 0
            assert row._state.adding is False and row._state.db == "default"
    assert query("nothing!") == []


def test_prepared_values_list_with_list_arguments_of_several_lengths():
    people = [Person.objects.create(name=f"P{i}", email=f"P{i}@Example.nl") for i in range(4)]

    def build(emails, exclude):
        return (
            Person.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .exclude(pk__in=exclude)
            .order_by("pk")
            .values_list("pk", "email_lower")
        )

    query = PreparedQuery(build)
    cases = [
        (["p0@example.nl"], []),
        (["p0@example.nl", "p1@example.nl"], [people[1].pk]),
        (["p2@example.nl", "p3@example.nl", "x@example.nl"], [people[0].pk, people[3].pk]),
        (["p0@example.nl"], [people[0].pk]),
        ([], []),
    ]
    for emails, exclude in cases * 2:  # the second round runs on cached shapes
        assert query(emails, exclude) == list(build(emails, exclude))


def test_prepared_query_refuses_arguments_it_cannot_place():
    with pytest.raises(TypeError):
        PreparedQuery(lambda flag: Event.objects.filter(allow_duplicate_emails=flag))(True)
    # A value the queryset transforms (here: into a LIKE pattern) is not a plain parameter.
    with pytest.raises(TypeError):
        PreparedQuery(lambda text: Event.objects.filter(title__contains=text))("x")
    with pytest.raises(TypeError):
        PreparedQuery(lambda pk: Event.objects.prefetch_related("ticket_types").filter(pk=pk))(1)


def test_event_for_booking_reads_what_prefetch_related_reads_in_three_queries():
    event = EventFactory(status=Event.Status.PUBLISHED)
    types = [TicketTypeFactory(event=event, name=n, position=p) for n, p in (("B", 1), ("A", 1))]
    questions = [QuestionFactory(event=event, position=2), QuestionFactory(event=event, position=1)]
    TicketTypeFactory(event=EventFactory())  # another event's type stays out
    with CaptureQueriesContext(connection) as ctx:
        got = selectors.event_for_booking(event_id=event.pk)
        assert [t.name for t in got.ticket_types.all()] == ["A", "B"]
        assert [q.pk for q in got.questions.all()] == [questions[1].pk, questions[0].pk]
        assert all(t.event is got for t in got.ticket_types.all())
    assert len(ctx) == 3
    assert _fields(got) == _fields(Event.objects.get(pk=event.pk))
    assert {t.pk for t in got.ticket_types.all()} == {t.pk for t in types}
    event.status = Event.Status.DRAFT
    event.save()
    assert selectors.event_for_booking(event_id=event.pk) is None


def test_prepared_insert_writes_what_bulk_create_writes():
    event = EventFactory()
    org = OrganisationFactory()
    insert = PreparedInsert(Person)
    for n in (1, 3, 3, 1):  # compiled per row count, then reused
        fast = [Person(name=f"F{i}", email=f"f{i}@e.nl", organisation=org) for i in range(n)]
        slow = [Person(name=f"F{i}", email=f"f{i}@e.nl", organisation=org) for i in range(n)]
        insert(fast)
        Person.objects.bulk_create(slow)
        for a, b in zip(fast, slow, strict=True):
            assert a.pk and a._state.adding is False
            stored = _fields(Person.objects.get(pk=a.pk))
            assert stored == _fields(a)
            # Only the id and the auto_now timestamps differ from bulk_create's row.
            bulk = {**_fields(Person.objects.get(pk=b.pk)), "id": a.pk}
            moments = {"created_at", "updated_at"}
            assert {k: v for k, v in stored.items() if k not in moments} == {
                k: v for k, v in bulk.items() if k not in moments
            }
            assert all(stored[k] is not None for k in moments & stored.keys())
    # auto_now_add and defaults, as save() sets them
    booker = Person.objects.create(name="B", email="b@e.nl")
    reg = Registration(event=event, booker=booker, organisation=org, language="nl")
    PreparedInsert(Registration)([reg])
    stored = Registration.objects.get(pk=reg.pk)
    assert stored.created_at == reg.created_at and stored.created_at is not None
    assert stored.code == reg.code and stored.status == reg.status


def test_prepared_insert_ignoring_conflicts_returns_only_new_rows():
    insert = PreparedInsert(OutboxMail, returning=("pk", "key"), ignore_conflicts=True)
    first = insert([OutboxMail(key="a", template="t", to_email="a@e.nl")])
    assert [key for _pk, key in first] == ["a"]
    again = insert(
        [
            OutboxMail(key="a", template="t", to_email="other@e.nl"),
            OutboxMail(key="b", template="t", to_email="b@e.nl"),
        ]
    )
    assert [key for _pk, key in again] == ["b"]
    assert OutboxMail.objects.get(key="a").to_email == "a@e.nl"


def test_prepared_update_writes_the_named_fields_only():
    org = OrganisationFactory()
    from django.utils import timezone

    record = IdempotencyRecord.objects.create(
        organisation=org, key="k", request_hash="h", expires_at=timezone.now()
    )
    record.response_status = 201
    record.response_body = {"code": "ABC", "tickets": [{"id": 1, "name": "É"}]}
    record.request_hash = "changed in memory only"
    assert PreparedUpdate(IdempotencyRecord, ["response_status", "response_body"])(record) == 1
    stored = IdempotencyRecord.objects.get(pk=record.pk)
    assert stored.response_status == 201
    assert stored.response_body == {"code": "ABC", "tickets": [{"id": 1, "name": "É"}]}
    assert stored.request_hash == "h"


def test_attach_prefetched_serves_rows_without_a_query():
    event = EventFactory()
    ticket_holder = Person.objects.create(name="X", email="x@e.nl")
    reg = Registration.objects.create(event=event, booker=ticket_holder)
    tickets = [Ticket(registration=reg, event=event, ticket_type=TicketTypeFactory(event=event),
                      person=ticket_holder)]  # fmt: skip
    attach_prefetched(reg, "tickets", tickets)
    with CaptureQueriesContext(connection) as ctx:
        assert list(reg.tickets.all()) == tickets
    assert len(ctx) == 0
