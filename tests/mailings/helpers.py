from mailings import services
from mailings.models import Segment
from tests.factories import PersonFactory, TicketFactory


def attendee(event, *, name, email, language="nl", status="valid"):
    person = PersonFactory(name=name, email=email, preferred_language=language)
    return TicketFactory(registration__event=event, person=person, status=status)


def attendees_mailing(event, user, **overrides):
    data = {
        "created_by": user,
        "segment": Segment.EVENT_ATTENDEES,
        "event": event,
        "subject_nl": "Nieuws over {{ evenement }}",
        "body_nl": (
            "Beste {{ naam }},\n\nWelkom bij {{ evenement }}.\nTot dan!\n\nJe adres: {{ email }}"
        ),
        "subject_en": "News about {{ event }}",
        "body_en": "Dear {{ name }},\n\nWelcome to {{ event }}.",
    }
    data.update(overrides)
    return services.mailing_create(**data)


def send_now(mailing, user, **kwargs) -> int:
    """The organiser's "send" and then the job it queues, run here. (In a test transaction
    the on-commit publish never happens; tests of the queuing itself are in test_send_job.)"""
    count = services.mailing_send(mailing=mailing, user=user, **kwargs)
    services.mailing_send_run(mailing_id=mailing.pk)
    return count
