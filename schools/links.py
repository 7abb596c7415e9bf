"""Signed, expiring personal links for schools and ambassadors (as participants.links).

Each purpose has its own salt, so a school's request link never opens an ambassador page or a
feedback form. Tokens sign the row's random secret; the role is part of the feedback token.
"""

from common import signed_links

from .models import Ambassador, SchoolSession, SchoolSessionRequest, SessionFeedback

_SALTS = {
    "request": "schools.links.request",
    "ambassador": "schools.links.ambassador",
    "feedback": "schools.links.feedback",
}


def _load(purpose: str, token: str):
    return signed_links.unsign(token, salt=_SALTS[purpose])


def _absolute(name: str, token: str) -> str:
    return signed_links.absolute_url(name, token)


def request_token(request: SchoolSessionRequest) -> str:
    return signed_links.sign(request.secret, salt=_SALTS["request"])


def request_url(request: SchoolSessionRequest) -> str:
    return _absolute("schools:request_manage", request_token(request))


def request_from_token(token: str) -> SchoolSessionRequest:
    secret = _load("request", token)
    row = (
        SchoolSessionRequest.objects.filter(secret=secret).first()
        if isinstance(secret, str)
        else None
    )
    if row is None:
        raise signed_links.invalid_link()
    return row


def ambassador_token(ambassador: Ambassador) -> str:
    return signed_links.sign(ambassador.secret, salt=_SALTS["ambassador"])


def ambassador_url(ambassador: Ambassador) -> str:
    return _absolute("schools:ambassador_page", ambassador_token(ambassador))


def ambassador_from_token(token: str) -> Ambassador:
    secret = _load("ambassador", token)
    row = (
        Ambassador.objects.filter(secret=secret, is_active=True).first()
        if isinstance(secret, str)
        else None
    )
    if row is None:
        raise signed_links.invalid_link()
    return row


def feedback_token(session: SchoolSession, role: str) -> str:
    return signed_links.sign([session.secret, role], salt=_SALTS["feedback"])


def feedback_url(session: SchoolSession, role: str) -> str:
    return _absolute("schools:feedback", feedback_token(session, role))


def feedback_from_token(token: str) -> tuple[SchoolSession, str]:
    value = _load("feedback", token)
    if not (isinstance(value, list) and len(value) == 2):
        raise signed_links.invalid_link()
    secret, role = value
    if role not in SessionFeedback.Role.values:
        raise signed_links.invalid_link()
    session = SchoolSession.objects.filter(secret=secret).first()
    if session is None:
        raise signed_links.invalid_link()
    return session, role
