"""Writes for school sessions: requests, assignment, changes, feedback, availability.

Every service runs inside transaction.atomic and raises common.errors.RuleViolation before
anything is written (or inside the atomic block, so nothing stays written). Mails go through
the outbox in the same transaction (communications.services.mail_enqueue).

Planning actions by an organiser (`user`) are audited in that transaction too, with the HTTP
request as `http_request` (`request` is the school's request here). The event and press
services they call get no actor: the planning entry is the one record of the action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.calendars import ics_attachment
from communications.services import mail_enqueue
from events.models import Campaign, Event
from events.services import event_cancel, event_update
from organisations.models import Organisation, Region
from organisations.validators import normalise_brin, normalise_postcode
from participants.models import Person
from press import services as press_services
from press.models import MediaMoment
from privacy.audit import audit_record

from . import selectors
from .models import (
    AMSTERDAM,
    Ambassador,
    AvailabilityWindow,
    EducationLevel,
    PreferredSlot,
    SchoolSession,
    SchoolSessionRequest,
    SessionFeedback,
    SessionLanguage,
    WorkField,
)

CAMPAIGN_SLUG = "ik-zorg"
MIN_SLOTS = 2
MAX_SLOTS = 6
MAX_PUPILS = 2000


@dataclass(frozen=True)
class SlotInput:
    date: date
    start_time: time
    end_time: time


def _invalid(errors: dict[str, list[str]]) -> RuleViolation:
    first = next(iter(errors.values()))[0]
    return RuleViolation(first, code="invalid", conflict=False, errors=errors)


def _campaign() -> Campaign:
    campaign, _created = Campaign.objects.get_or_create(
        slug=CAMPAIGN_SLUG, defaults={"name": "Ik Zorg"}
    )
    return campaign


# --- Requests ----------------------------------------------------------------------------------


def _validate_request(*, school, contact, slots, education_level, pupils, classes, language):
    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(str(message))

    cleaned_school = dict(school)
    try:
        cleaned_school["brin_code"] = normalise_brin(school.get("brin_code", ""))
    except ValidationError as exc:
        add("school.brin_code", exc.messages[0])
    if not (school.get("name") or "").strip():
        add("school.name", _("Enter the name of the school."))
    if not (school.get("street") or "").strip():
        add("school.street", _("Enter the street and number of the school."))
    if not (school.get("city") or "").strip():
        add("school.city", _("Enter the town or city of the school."))
    try:
        cleaned_school["postcode"] = normalise_postcode(school.get("postcode", ""))
    except ValidationError as exc:
        add("school.postcode", exc.messages[0])
    region = school.get("region")
    if region is not None and not isinstance(region, Region):
        add("school.region", _("Choose a region from the list."))
    if not (contact.get("name") or "").strip():
        add("contact.name", _("Enter the name of the contact person."))
    email = (contact.get("email") or "").strip()
    if "@" not in email or len(email) > 254:
        add("contact.email", _("Enter a valid e-mail address, for example name@school.nl."))
    if education_level not in EducationLevel.values:
        add("education_level", _("Choose vmbo, havo, vwo or mbo."))
    if language not in SessionLanguage.values:
        add("language", _("Choose Dutch or English."))
    if not isinstance(pupils, int) or pupils < 1 or pupils > MAX_PUPILS:
        add("pupils", _("Enter a number of pupils between 1 and %(max)s.") % {"max": MAX_PUPILS})
    if not isinstance(classes, int) or classes < 1 or classes > 100:
        add("classes", _("Enter a number of classes between 1 and 100."))
    if len(slots) < MIN_SLOTS:
        add("slots", _("Give at least two preferred dates, so we can find an ambassador."))
    if len(slots) > MAX_SLOTS:
        add("slots", _("Give at most %(max)s preferred dates.") % {"max": MAX_SLOTS})
    today = timezone.localdate(timezone=AMSTERDAM)
    seen = set()
    for index, slot in enumerate(slots):
        if slot.end_time <= slot.start_time:
            add(f"slots.{index}.end_time", _("The end time must be after the start time."))
        if slot.date <= today:
            add(f"slots.{index}.date", _("Choose a date after today."))
        key = (slot.date, slot.start_time)
        if key in seen:
            add(f"slots.{index}.date", _("This date and time are already in your list."))
        seen.add(key)
    if errors:
        raise _invalid(errors)
    return cleaned_school


def _school_for_request(data: dict) -> Organisation:
    """The school with this BRIN code, or a new one; a known school keeps its stored details
    (only a missing region is filled in)."""
    school = Organisation.objects.filter(brin_code=data["brin_code"]).first()
    if school is not None:
        if school.kind != Organisation.Kind.SCHOOL:
            raise _invalid(
                {
                    "school.brin_code": [
                        _("This BRIN code belongs to an organisation that is not a school.")
                    ]
                }
            )
        if school.region_id is None and data.get("region") is not None:
            # Matching ranks ambassadors by the school's region; a school first known without
            # one (an API request may leave it out) gets it from the first request that names it.
            school.region = data["region"]
            school.save(update_fields=["region"])
        return school
    return Organisation.objects.create(
        kind=Organisation.Kind.SCHOOL,
        name=data["name"].strip(),
        brin_code=data["brin_code"],
        sector=Organisation.Sector.EDUCATION,
        street=data["street"].strip(),
        postcode=data["postcode"],
        city=data["city"].strip(),
        region=data.get("region"),
    )


def school_request_create(
    *,
    school: dict,
    contact: dict,
    slots: list[SlotInput],
    education_level: str,
    pupils: int,
    classes: int,
    work_field: WorkField | None = None,
    language: str = "nl",
    wishes: str = "",
    client_key: str | None = None,
    client_fingerprint: str = "",
) -> SchoolSessionRequest:
    """A school asks for an information session; the contact gets a confirmation mail.

    `school` keys: brin_code, name, street, postcode, city, region (a Region or None); the
    school is found by BRIN code or created. `contact` keys: name, email, phone, language.
    With `client_key` (an API Idempotency-Key) a repeat returns the first request, marked
    `replayed = True`; the same key with another body raises `idempotency_key_reused`.
    """
    if client_key:
        existing = SchoolSessionRequest.objects.filter(client_key=client_key).first()
        if existing is not None:
            return _replay(existing, client_fingerprint)
    cleaned = _validate_request(
        school=school,
        contact=contact,
        slots=slots,
        education_level=education_level,
        pupils=pupils,
        classes=classes,
        language=language,
    )
    try:
        with transaction.atomic():
            organisation = _school_for_request(cleaned)
            email = contact["email"].strip().lower()
            person = Person.objects.filter(email__iexact=email, organisation=organisation).first()
            contact_language = contact.get("language") or "nl"
            if person is None:
                person = Person.objects.create(
                    name=contact["name"].strip(),
                    email=email,
                    phone=(contact.get("phone") or "").strip(),
                    preferred_language=contact_language
                    if contact_language in ("nl", "en")
                    else "nl",
                    organisation=organisation,
                )
            request = SchoolSessionRequest.objects.create(
                school=organisation,
                campaign=_campaign(),
                contact=person,
                education_level=education_level,
                pupils=pupils,
                classes=classes,
                work_field=work_field,
                language=language,
                wishes=(wishes or "").strip(),
                client_key=client_key or None,
                client_fingerprint=client_fingerprint if client_key else "",
            )
            PreferredSlot.objects.bulk_create(
                PreferredSlot(
                    request=request,
                    date=s.date,
                    start_time=s.start_time,
                    end_time=s.end_time,
                    position=i,
                )
                for i, s in enumerate(sorted(slots, key=lambda s: (s.date, s.start_time)))
            )
            mail_enqueue(
                key=f"school_request_received:{request.pk}",
                template="school_request_received",
                to_email=person.email,
                to_name=person.name,
                language=person.preferred_language,
                context={"request_id": request.pk},
            )
    except IntegrityError:
        # Two requests with the same Idempotency-Key at the same moment: the other one won.
        existing = (
            SchoolSessionRequest.objects.filter(client_key=client_key).first()
            if client_key
            else None
        )
        if existing is None:
            raise
        return _replay(existing, client_fingerprint)
    request.replayed = False
    return request


def _replay(existing: SchoolSessionRequest, fingerprint: str) -> SchoolSessionRequest:
    if existing.client_fingerprint != fingerprint:
        raise RuleViolation(
            _(
                "This Idempotency-Key was already used for a different request. "
                "Use a new key for a new request."
            ),
            code="idempotency_key_reused",
            field="Idempotency-Key",
        )
    existing.replayed = True
    return existing


# --- Assigning an ambassador -------------------------------------------------------------------


def _lock_ambassador(pk: int) -> Ambassador:
    """SELECT ... FOR UPDATE on the ambassador: every session change for one ambassador queues
    here, so the conflict check that follows sees the sessions the others committed."""
    return Ambassador.objects.select_for_update(of=("self",)).select_related("person").get(pk=pk)


def _raise_conflicts(conflicts: list[selectors.Conflict]) -> None:
    if conflicts:
        raise RuleViolation(
            " ".join(c.message for c in conflicts),
            code=conflicts[0].code,
            errors={"ambassador": [c.message for c in conflicts]},
        )


def _address(school: Organisation) -> str:
    return ", ".join(p for p in (school.street, f"{school.postcode} {school.city}".strip()) if p)


def _session_mails(session: SchoolSession, *, kind: str, method: str = "REQUEST") -> None:
    """Queue one mail to the school contact and one to the ambassador.

    kind: planned | changed | cancelled | feedback. Keys carry the event revision for changes
    and cancellations, so every change mails once and a later change mails again.
    """
    event = session.event
    contact = session.request.contact
    person = session.ambassador.person
    suffix = f":{event.revision}" if kind in ("changed", "cancelled") else ""
    attachments = (
        # A personal invite (iTIP REQUEST/CANCEL) to each recipient of the mail, with the
        # session as this change left it (communications.calendars).
        [ics_attachment(event=event, method=method, to_recipient=True)]
        if kind != "feedback"
        else []
    )
    templates = {
        "planned": ("school_session_planned", "ambassador_session_assigned"),
        "changed": ("school_session_changed", "ambassador_session_changed"),
        "cancelled": ("school_session_cancelled", "ambassador_session_cancelled"),
        "feedback": ("school_session_feedback", "ambassador_session_feedback"),
    }[kind]
    for template, recipient in zip(templates, (contact, person), strict=True):
        mail_enqueue(
            key=f"{template}:{session.pk}{suffix}",
            template=template,
            to_email=recipient.email,
            to_name=recipient.name,
            language=recipient.preferred_language,
            context={"session_id": session.pk, "event_id": event.pk},
            attachments=attachments,
            event_id=event.pk,
        )


def school_session_assign(
    *,
    request: SchoolSessionRequest,
    ambassador: Ambassador,
    slot: PreferredSlot,
    user=None,
    http_request=None,
) -> SchoolSession:
    """Plan the session: the ambassador goes to the school in one of its preferred windows.

    Locks the request, then the ambassador (always in that order), and checks the conflict
    rules again under the lock: two organisers giving the same ambassador overlapping
    sessions at the same moment cannot both succeed. Creates the school-session event (draft:
    not public, not bookable), and queues confirmations with an .ics invitation to the school
    contact and the ambassador.
    """
    with transaction.atomic():
        locked_request = (
            SchoolSessionRequest.objects.select_for_update(of=("self",))
            .select_related("school", "campaign", "contact")
            .get(pk=request.pk)
        )
        if locked_request.status != SchoolSessionRequest.Status.OPEN:
            raise RuleViolation(
                _("This request is no longer open; it has already been planned or cancelled."),
                code="not_open",
            )
        if slot.request_id != locked_request.pk:
            raise RuleViolation(
                _("Choose one of the dates the school proposed."),
                code="invalid",
                field="slot",
                conflict=False,
            )
        locked = _lock_ambassador(ambassador.pk)
        _raise_conflicts(
            selectors.ambassador_conflicts(
                ambassador=locked, starts_at=slot.starts_at, ends_at=slot.ends_at
            )
        )
        school = locked_request.school
        with translation.override("nl"):
            title = _("Information session at %(school)s") % {"school": school.name}
            description = _(
                "%(campaign)s information session for %(pupils)s pupils (%(level)s) by "
                "ambassador %(ambassador)s."
            ) % {
                "campaign": locked_request.campaign.name,
                "pupils": locked_request.pupils,
                "level": locked_request.get_education_level_display(),
                "ambassador": locked.person.name,
            }
        event = Event.objects.create(
            campaign=locked_request.campaign,
            kind=Event.Kind.SCHOOL_SESSION,
            title=title[:200],
            slug=f"schoolsessie-{slugify(school.brin_code)}-{locked_request.pk}-"
            f"{SchoolSession.objects.filter(request=locked_request).count() + 1}",
            description=description,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            venue_name=school.name,
            venue_address=_address(school),
            capacity=locked_request.pupils,
            status=Event.Status.DRAFT,
        )
        session = SchoolSession.objects.create(
            request=locked_request, event=event, ambassador=locked, assigned_by=user
        )
        locked_request.status = SchoolSessionRequest.Status.PLANNED
        locked_request.save(update_fields=["status", "updated_at"])
        _session_mails(session, kind="planned")
        if user is not None:
            audit_record(
                actor=user,
                action="school_session.assign",
                obj=session,
                request=http_request,
                request_id=locked_request.pk,
                request_status=locked_request.status,
                ambassador_id=locked.pk,
                event_id=event.pk,
                slot_id=slot.pk,
            )
    request.status = locked_request.status
    return session


# An organiser may only close an open request or open a closed one by hand: "planned" and
# "held" follow from a session (assign, complete), so setting them directly would leave a
# request that claims a session it does not have.
MANUAL_REQUEST_STATUSES = (SchoolSessionRequest.Status.OPEN, SchoolSessionRequest.Status.CANCELLED)


def school_request_status_set(
    *, school_request: SchoolSessionRequest, status: str, user=None, http_request=None
) -> SchoolSessionRequest:
    """Close an open request (no session wanted) or reopen a cancelled one, audited as
    `school_request.status` with the old and new status. Setting the status it has is a
    no-op. For the Django admin, whose request form would otherwise save any status."""
    if status not in MANUAL_REQUEST_STATUSES:
        raise RuleViolation(
            _("A request becomes planned or held through its session, on the planning board."),
            code="invalid",
            field="status",
            conflict=False,
        )
    with transaction.atomic():
        locked = SchoolSessionRequest.objects.select_for_update().get(pk=school_request.pk)
        old = locked.status
        if old != status:
            if old not in MANUAL_REQUEST_STATUSES:
                raise RuleViolation(
                    _("This request has a session; cancel the session instead."),
                    code="not_allowed",
                    field="status",
                )
            locked.status = status
            locked.save(update_fields=["status", "updated_at"])
            if user is not None:
                audit_record(
                    actor=user,
                    action="school_request.status",
                    obj=locked,
                    request=http_request,
                    old_status=old,
                    status=status,
                )
    school_request.status = locked.status
    return school_request


def _lock_session(session: SchoolSession) -> SchoolSession:
    return (
        SchoolSession.objects.select_for_update(of=("self",))
        .select_related("event", "request__contact", "request__school", "ambassador__person")
        .get(pk=session.pk)
    )


def school_session_reschedule(
    *,
    session: SchoolSession,
    on: date,
    start_time: time,
    end_time: time,
    user=None,
    http_request=None,
) -> SchoolSession:
    """Move a planned session; the school and the ambassador get an updated invitation."""
    starts_at = datetime.combine(on, start_time, tzinfo=AMSTERDAM)
    ends_at = datetime.combine(on, end_time, tzinfo=AMSTERDAM)
    if ends_at <= starts_at:
        raise RuleViolation(
            _("The end time must be after the start time."),
            code="invalid",
            field="end_time",
            conflict=False,
        )
    if starts_at <= timezone.now():
        raise RuleViolation(
            _("Choose a date after today."), code="invalid", field="date", conflict=False
        )
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.status != SchoolSession.Status.PLANNED:
            raise RuleViolation(_("Only a planned session can be moved."), code="not_allowed")
        ambassador = _lock_ambassador(locked.ambassador_id)
        _raise_conflicts(
            selectors.ambassador_conflicts(
                ambassador=ambassador,
                starts_at=starts_at,
                ends_at=ends_at,
                exclude_session_id=locked.pk,
            )
        )
        before = locked.event.revision
        event_update(event=locked.event, starts_at=starts_at, ends_at=ends_at)
        if locked.event.revision != before:
            _session_mails(locked, kind="changed")
            moment = selectors.linked_media_moment(locked)
            if moment is not None:
                # Journalists who accepted get the new time through the press hooks.
                press_services.media_moment_update(
                    moment=moment, starts_at=starts_at, ends_at=ends_at
                )
            if user is not None:
                audit_record(
                    actor=user,
                    action="school_session.reschedule",
                    obj=locked,
                    request=http_request,
                    event_id=locked.event_id,
                    revision=locked.event.revision,
                )
    return locked


def school_session_cancel(
    *, session: SchoolSession, reopen: bool = True, user=None, http_request=None
) -> SchoolSession:
    """Cancel a planned session (calendar cancellation to both). With `reopen` the request
    goes back to the planning board for another ambassador; otherwise it is cancelled too.
    Idempotent."""
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.status == SchoolSession.Status.CANCELLED:
            return locked
        if locked.status == SchoolSession.Status.DONE:
            raise RuleViolation(_("This session has already taken place."), code="not_allowed")
        event_cancel(event=locked.event)
        locked.status = SchoolSession.Status.CANCELLED
        locked.save(update_fields=["status"])
        request = SchoolSessionRequest.objects.select_for_update(of=("self",)).get(
            pk=locked.request_id
        )
        request.status = (
            SchoolSessionRequest.Status.OPEN if reopen else SchoolSessionRequest.Status.CANCELLED
        )
        request.save(update_fields=["status", "updated_at"])
        _session_mails(locked, kind="cancelled", method="CANCEL")
        moment = selectors.linked_media_moment(locked)
        if moment is not None:
            # No session, nothing to report on: journalists who accepted get a cancellation.
            press_services.media_moment_cancel(moment=moment)
        if user is not None:
            audit_record(
                actor=user,
                action="school_session.cancel",
                obj=locked,
                request=http_request,
                event_id=locked.event_id,
                request_id=request.pk,
                request_status=request.status,
                media_moment_id=moment.pk if moment is not None else None,
            )
    return locked


def school_session_media_moment_create(
    *, session: SchoolSession, user=None, http_request=None
) -> MediaMoment:
    """Open a planned session to the press: a media moment (work visit) at the session's time
    and place, linked to the session, to which the organiser then invites local and regional
    journalists through the press pages. Moving or cancelling the session later moves or
    cancels the media moment too. Idempotent: while the linked moment is not cancelled it is
    returned as it is."""
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.status != SchoolSession.Status.PLANNED:
            raise RuleViolation(
                _("Only a planned session can be opened to the press."), code="not_allowed"
            )
        existing = selectors.linked_media_moment(locked)
        if existing is not None:
            return existing
        event = locked.event
        school_request = locked.request
        with translation.override("nl"):
            title = _("Work visit: information session at %(school)s") % {
                "school": school_request.school.name
            }
            # No names: the invitation goes to the press list; pupils are minors.
            description = _(
                "An ambassador from the work field %(field)s tells %(pupils)s pupils (%(level)s) "
                "about working in care and welfare."
            ) % {
                "field": locked.ambassador.work_field.name,
                "pupils": school_request.pupils,
                "level": school_request.get_education_level_display(),
            }
        moment = press_services.media_moment_create(
            campaign=event.campaign,
            title=title[:200],
            sub_kind=MediaMoment.SubKind.WORK_VISIT,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            venue_name=event.venue_name,
            venue_address=event.venue_address,
            description=description,
        )
        locked.media_moment = moment.event
        locked.save(update_fields=["media_moment"])
        if user is not None:
            audit_record(
                actor=user,
                action="school_session.media_moment_create",
                obj=locked,
                request=http_request,
                media_moment_id=moment.pk,
                media_event_id=moment.event_id,
            )
    session.media_moment = moment.event
    return moment


def school_session_complete(
    *, session: SchoolSession, user=None, http_request=None
) -> SchoolSession:
    """Mark a session as held (after it ended) and ask both sides for feedback. Idempotent.

    Marked by an organiser (`user`) it is audited; the periodic job passes no user."""
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.status == SchoolSession.Status.DONE:
            return locked
        if locked.status != SchoolSession.Status.PLANNED:
            raise RuleViolation(
                _("A cancelled session cannot be marked as held."), code="not_allowed"
            )
        if locked.event.ends_at > timezone.now():
            raise RuleViolation(_("This session has not ended yet."), code="too_early")
        locked.status = SchoolSession.Status.DONE
        locked.save(update_fields=["status"])
        SchoolSessionRequest.objects.filter(pk=locked.request_id).update(
            status=SchoolSessionRequest.Status.DONE, updated_at=timezone.now()
        )
        _session_mails(locked, kind="feedback")
        if user is not None:
            audit_record(
                actor=user,
                action="school_session.complete",
                obj=locked,
                request=http_request,
                request_id=locked.request_id,
                request_status=SchoolSessionRequest.Status.DONE,
            )
    return locked


def school_sessions_complete_due(*, now: datetime | None = None) -> int:
    """Periodic: every planned session that has ended becomes held; returns how many."""
    now = now or timezone.now()
    done = 0
    for session in SchoolSession.objects.filter(
        status=SchoolSession.Status.PLANNED, event__ends_at__lte=now
    ).only("pk"):
        school_session_complete(session=session)
        done += 1
    return done


def session_feedback_submit(
    *, session: SchoolSession, role: str, rating: int, pupils_reached: int, comments: str = ""
) -> SessionFeedback:
    """Feedback after the session, one per side (school, ambassador); sending again replaces it."""
    errors: dict[str, list[str]] = {}
    if role not in SessionFeedback.Role.values:
        raise ValueError(f"unknown feedback role {role!r}")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        errors["rating"] = [_("Choose a rating from 1 to 5.")]
    if not isinstance(pupils_reached, int) or not 0 <= pupils_reached <= MAX_PUPILS:
        errors["pupils_reached"] = [
            _("Enter a number of pupils between 0 and %(max)s.") % {"max": MAX_PUPILS}
        ]
    if errors:
        raise _invalid(errors)
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.status == SchoolSession.Status.CANCELLED:
            raise RuleViolation(_("This session was cancelled."), code="not_allowed")
        if locked.event.starts_at > timezone.now():
            raise RuleViolation(
                _("You can give feedback once the session has taken place."), code="too_early"
            )
        feedback, _created = SessionFeedback.objects.update_or_create(
            session=locked,
            role=role,
            defaults={
                "rating": rating,
                "pupils_reached": pupils_reached,
                "comments": (comments or "").strip(),
            },
        )
    return feedback


# --- Ambassador availability -------------------------------------------------------------------


def availability_add(
    *,
    ambassador: Ambassador,
    start_time: time,
    end_time: time,
    weekday: int | None = None,
    on: date | None = None,
) -> AvailabilityWindow:
    """Add a weekly (weekday 0 = Monday) or one-off (on) window in which the ambassador can come."""
    errors: dict[str, list[str]] = {}
    if (weekday is None) == (on is None):
        errors["kind"] = [_("Choose a weekday or a date.")]
    if weekday is not None and not 0 <= weekday <= 6:
        errors["weekday"] = [_("Choose a weekday.")]
    if on is not None and on < timezone.localdate(timezone=AMSTERDAM):
        errors["date"] = [_("Choose today or a later date.")]
    if end_time <= start_time:
        errors["end_time"] = [_("The end time must be after the start time.")]
    if errors:
        raise _invalid(errors)
    with transaction.atomic():
        return AvailabilityWindow.objects.create(
            ambassador=ambassador,
            weekday=weekday,
            date=on,
            start_time=start_time,
            end_time=end_time,
        )


def availability_remove(*, ambassador: Ambassador, window_id: int) -> None:
    """Remove one of the ambassador's own windows; another's id is not found (nothing changes)."""
    with transaction.atomic():
        deleted, _details = AvailabilityWindow.objects.filter(
            pk=window_id, ambassador=ambassador
        ).delete()
    if not deleted:
        raise RuleViolation(_("This availability was not found."), code="not_found", conflict=False)


def ambassador_link_send(*, ambassador: Ambassador) -> None:
    """Mail the ambassador the signed link to their personal page (availability, sessions).

    Each call queues a new mail (an organiser may resend after the ambassador lost it); the
    key carries the time so two clicks in the same second still mail once.
    """
    person = ambassador.person
    with transaction.atomic():
        mail_enqueue(
            key=f"ambassador_personal_link:{ambassador.pk}:{int(timezone.now().timestamp())}",
            template="ambassador_personal_link",
            to_email=person.email,
            to_name=person.name,
            language=person.preferred_language,
            context={"ambassador_id": ambassador.pk},
        )
