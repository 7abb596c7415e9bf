"""Loads the rows a school/ambassador mail is about, at send time (the outbox keeps only ids).

communications.mailcontext loads the event from `event_id`; this tag adds the request, the
session, the people and the personal links: {% load schools_mail %}{% school_mail as s %}.
"""

from django import template

from schools import links
from schools.models import Ambassador, SchoolSession, SchoolSessionRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def school_mail(context) -> dict:
    data: dict = {}
    session_id = context.get("session_id")
    request_id = context.get("request_id")
    if context.get("ambassador_id"):
        ambassador = Ambassador.objects.select_related("person").get(pk=context["ambassador_id"])
        return {"ambassador": ambassador, "ambassador_url": links.ambassador_url(ambassador)}
    if session_id:
        session = SchoolSession.objects.select_related(
            "event",
            "request__school",
            "request__contact",
            "ambassador__person",
            "ambassador__work_field",
        ).get(pk=session_id)
        data.update(
            session=session,
            ambassador=session.ambassador,
            ambassador_url=links.ambassador_url(session.ambassador),
            feedback_url_school=links.feedback_url(session, "school"),
            feedback_url_ambassador=links.feedback_url(session, "ambassador"),
        )
        school_request = session.request
    elif request_id:
        school_request = SchoolSessionRequest.objects.select_related(
            "school", "contact", "work_field"
        ).get(pk=request_id)
    else:
        return data
    data.update(
        request=school_request,
        school=school_request.school,
        contact=school_request.contact,
        slots=list(school_request.slots.all()),
        request_url=links.request_url(school_request),
    )
    return data
