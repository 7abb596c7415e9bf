"""Press: all writes and rules. Every mail to a journalist goes through `_journalist_mail`, which
refuses removed journalists, so a removal request stops every later mail at one place; press mail
still waiting in the outbox at the removal is withdrawn by `journalist_remove`.

Staff actions are audited in their transaction when the service is given the organiser (`user`,
with the HTTP `request` for the address): ids, codes and counts only, never names or addresses.
Called without `user` (a journalist's own removal link, or the school planning that records
its own entry) they write no entry."""

import datetime as dt
import zipfile
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.calendars import ics_attachment
from communications.models import OutboxMail
from communications.services import mail_enqueue
from events import services as event_services
from events.locking import lock_event
from events.models import Campaign, Event
from organisations.models import Organisation, Region
from participants.models import Person
from privacy.audit import audit_record

from . import selectors
from .models import (
    Coverage,
    InterviewSlot,
    Journalist,
    MediaMoment,
    PressInvitation,
    PressMaterial,
    Spokesperson,
)

# --- locking helpers (module-level so the concurrency tests' controls can switch them off) ---


def _lock_slot(slot_id: int) -> InterviewSlot:
    """Precondition: inside transaction.atomic(). FOR UPDATE on PostgreSQL; SQLite serialises
    writers with BEGIN IMMEDIATE (settings)."""
    return InterviewSlot.objects.select_for_update().get(pk=slot_id)


def _lock_spokesperson(spokesperson_id: int) -> Spokesperson:
    """Precondition: inside transaction.atomic(). All slot creation for one spokesperson
    serialises here, so 'check for overlap, then insert' cannot interleave."""
    return Spokesperson.objects.select_for_update().get(pk=spokesperson_id)


def _lock_invitation(invitation_id: int) -> PressInvitation:
    return PressInvitation.objects.select_for_update().get(pk=invitation_id)


def _after_check() -> None:
    """Hook between 'check' and 'write'; the concurrency tests hold threads here."""


# --- mail ------------------------------------------------------------------


def _journalist_mail(
    *, journalist: Journalist, key: str, template: str, context: dict, attachments=None, event_id
):
    """Queue a mail to a journalist, never to one who asked to be removed from the press list."""
    if journalist.removed_at is not None:
        raise RuleViolation(
            _("This journalist has been removed from the press list and gets no more mail."),
            code="journalist_removed",
        )
    person = journalist.person
    return mail_enqueue(
        key=key,
        template=template,
        to_email=person.email,
        to_name=person.name,
        language=person.preferred_language,
        context=context,
        attachments=attachments or [],
        event_id=event_id,
    )


def _ics(event: Event, method: str, *, attendee_removed: bool = False) -> list[dict]:
    """A personal invite (iTIP REQUEST/CANCEL) to the journalist the mail goes to, with the
    moment's event as it is now: call under the event lock, after the change it announces."""
    return [
        ics_attachment(
            event=event, method=method, to_recipient=True, attendee_removed=attendee_removed
        )
    ]


# --- press list ---------------------------------------------------------------------------


def journalist_add(
    *,
    name: str,
    email: str,
    outlet: Organisation,
    media_type: str,
    legal_basis: str,
    agreed_on: dt.date,
    region: Region | None = None,
    topics: str = "",
    language: str = "nl",
    user=None,
    request=None,
) -> Journalist:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Enter a name.")]
    if not email.strip() or "@" not in email:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if outlet.kind != Organisation.Kind.MEDIA_OUTLET:
        errors["outlet"] = [_("Choose a media outlet.")]
    if media_type not in Journalist.MediaType.values:
        errors["media_type"] = [_("Choose a media type.")]
    if legal_basis not in Journalist.LegalBasis.values:
        errors["legal_basis"] = [_("Choose the basis for being on the press list.")]
    if agreed_on > timezone.localdate():
        errors["agreed_on"] = [_("The date agreed cannot be in the future.")]
    if errors:
        raise RuleViolation(
            _("Please correct the marked fields."), code="invalid", conflict=False, errors=errors
        )
    email = email.strip().lower()
    with transaction.atomic():
        if Journalist.objects.filter(person__email__iexact=email).exists():
            raise RuleViolation(
                _("This e-mail address is already on the press list."),
                code="duplicate_email",
                field="email",
            )
        person = Person.objects.create(
            name=name.strip(), email=email, preferred_language=language, organisation=outlet
        )
        journalist = Journalist.objects.create(
            person=person,
            outlet=outlet,
            media_type=media_type,
            region=region,
            topics=topics.strip(),
            legal_basis=legal_basis,
            agreed_on=agreed_on,
        )
        if user is not None:
            audit_record(
                actor=user,
                action="journalist.add",
                obj=journalist,
                request=request,
                person_id=person.pk,
                outlet_id=outlet.pk,
                media_type=media_type,
                legal_basis=legal_basis,
            )
        return journalist


def journalist_remove(
    *, journalist: Journalist, note: str = "", user=None, request=None
) -> Journalist:
    """Take a journalist off the press list (their request or a staff action). Idempotent.

    The row stays, so the request is on record and the address is not added again by mistake;
    `_journalist_mail` refuses every later mail. A removal by staff (`user`) is audited once,
    when it happens (the note is free text and stays out of the entry).
    """
    with transaction.atomic():
        locked = Journalist.objects.select_for_update().get(pk=journalist.pk)
        removed_now = locked.removed_at is None
        if removed_now:
            locked.removed_at = timezone.now()
            locked.removal_note = note[:200]
            locked.save(update_fields=["removed_at", "removal_note"])
        withdrawn = _press_mail_withdraw(email=locked.person.email)
        if removed_now and user is not None:
            audit_record(
                actor=user,
                action="journalist.remove",
                obj=locked,
                request=request,
                person_id=locked.person_id,
                mails_withdrawn=withdrawn,
            )
    journalist.removed_at, journalist.removal_note = locked.removed_at, locked.removal_note
    return journalist


PRESS_TEMPLATE_PREFIX = "press_"


def _press_mail_withdraw(*, email: str) -> int:
    """Stop press mail to ``email`` that is queued or waiting for a retry: `_journalist_mail`
    only guards new mail, and a row queued a moment before the removal (or retrying after an
    SMTP hiccup) would otherwise still go out. The claim in communications.sending only takes
    queued/retrying rows, so a withdrawn row is never sent; one already being sent is past
    stopping. `failed` is the outbox's only final state besides `sent`; the reason says why.
    """
    now = timezone.now()
    return OutboxMail.objects.filter(
        to_email__iexact=email,
        template__startswith=PRESS_TEMPLATE_PREFIX,
        status__in=[OutboxMail.Status.QUEUED, OutboxMail.Status.RETRYING],
    ).update(
        status=OutboxMail.Status.FAILED,
        next_attempt_at=None,
        last_error="Not sent: the recipient was removed from the press list.",
        updated_at=now,
    )


# --- media moments --------------------------------------------------------------------------


def media_moment_create(
    *,
    campaign: Campaign,
    title: str,
    sub_kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    venue_name: str = "",
    venue_address: str = "",
    online_url: str = "",
    description: str = "",
    embargo_until: dt.datetime | None = None,
    spokespersons: Iterable[Spokesperson] = (),
    user=None,
    request=None,
) -> MediaMoment:
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("Enter a title.")]
    if sub_kind not in MediaMoment.SubKind.values:
        errors["sub_kind"] = [_("Choose the type of media moment.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The end must be after the start.")]
    if errors:
        raise RuleViolation(
            _("Please correct the marked fields."), code="invalid", conflict=False, errors=errors
        )
    with transaction.atomic():
        base = slugify(title)[:100] or "media"
        slug, n = base, 1
        while Event.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        event = Event.objects.create(
            campaign=campaign,
            kind=Event.Kind.MEDIA_MOMENT,
            title=title.strip(),
            slug=slug,
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            venue_name=venue_name,
            venue_address=venue_address,
            online_url=online_url,
            status=Event.Status.PUBLISHED,
        )
        moment = MediaMoment.objects.create(
            event=event, sub_kind=sub_kind, embargo_until=embargo_until
        )
        moment.spokespersons.set(list(spokespersons))
        if user is not None:
            audit_record(
                actor=user,
                action="media_moment.create",
                obj=moment,
                request=request,
                event_id=event.pk,
                campaign_id=campaign.pk,
                sub_kind=sub_kind,
            )
    return moment


def _moment_mails(*, moment: MediaMoment, event: Event, template: str, method: str) -> int:
    """Calendar update to every journalist who accepted (declined and removed ones hear
    nothing). Keys carry the revision: each change mails once, a later change again.
    `event` is the moment's event as the change left it (the caller holds its lock)."""
    count = 0
    invitations = moment.invitations.filter(
        status=PressInvitation.Status.ACCEPTED, journalist__removed_at__isnull=True
    ).select_related("journalist__person")
    for invitation in invitations:
        _journalist_mail(
            journalist=invitation.journalist,
            key=f"{template}:{invitation.pk}:{event.revision}",
            template=template,
            context={"invitation_id": invitation.pk},
            attachments=_ics(event, method),
            event_id=moment.event_id,
        )
        count += 1
    return count


def media_moment_update(*, moment: MediaMoment, user=None, request=None, **changes) -> MediaMoment:
    """Change time/place (through events.services.event_update, which bumps the revision and
    tells ticket holders) and send accepted journalists an updated calendar invitation.
    `embargo_until`, `sub_kind` and `spokespersons` may be passed too; they change quietly.
    By staff (`user`), a save that changed something is audited as `media_moment.update` with
    the changed field names."""
    own = {name: changes.pop(name) for name in ("embargo_until", "sub_kind") if name in changes}
    spokespersons = changes.pop("spokespersons", None)
    if "sub_kind" in own and own["sub_kind"] not in MediaMoment.SubKind.values:
        raise RuleViolation(
            _("Choose the type of media moment."), code="invalid", field="sub_kind", conflict=False
        )
    with transaction.atomic():
        # The staff form sends every field; the audit entry names the ones that changed.
        before_event = {name: getattr(moment.event, name) for name in changes}
        before_own = {name: getattr(moment, name) for name in own}
        before_spokespersons = (
            set(moment.spokespersons.values_list("pk", flat=True))
            if spokespersons is not None
            else None
        )
        # Journalists hear of a new time or place through hooks.on_event_changed.
        event_services.event_update(event=moment.event, **changes)
        if own:
            MediaMoment.objects.filter(pk=moment.pk).update(**own)
            for name, value in own.items():
                setattr(moment, name, value)
        if spokespersons is not None:
            spokespersons = list(spokespersons)
            moment.spokespersons.set(spokespersons)
        if user is not None:
            fields = [n for n, v in before_event.items() if getattr(moment.event, n) != v]
            fields += [n for n, v in before_own.items() if own[n] != v]
            if before_spokespersons is not None and before_spokespersons != {
                p.pk for p in spokespersons
            }:
                fields.append("spokespersons")
            if fields:
                audit_record(
                    actor=user,
                    action="media_moment.update",
                    obj=moment,
                    request=request,
                    event_id=moment.event_id,
                    fields=sorted(fields),
                    revision=moment.event.revision,
                )
    return moment


def media_moment_cancel(*, moment: MediaMoment, user=None, request=None) -> MediaMoment:
    """Cancel the moment; accepted journalists get a calendar cancellation (through
    hooks.on_event_changed). Idempotent: by staff (`user`), only the cancellation itself is
    audited (`media_moment.cancel`), not a repeat."""
    with transaction.atomic():
        # The event lock (the one event_cancel takes too) makes the "was it still on?" answer
        # hold until the cancellation is written, so two clicks give one audit entry.
        was_cancelled = lock_event(moment.event_id).status == Event.Status.CANCELLED
        event_services.event_cancel(event=moment.event)
        if user is not None and not was_cancelled:
            audit_record(
                actor=user,
                action="media_moment.cancel",
                obj=moment,
                request=request,
                event_id=moment.event_id,
            )
    return moment


def media_moment_event_changed(*, event: Event, method: str) -> int:
    """Mail accepted journalists of the media moment on ``event`` (if it is one) about the
    change that gave the event its current revision. Returns how many were mailed."""
    moment = MediaMoment.objects.filter(event=event).first()
    if moment is None:
        return 0
    template = "press_moment_cancelled" if method == "CANCEL" else "press_moment_changed"
    return _moment_mails(moment=moment, event=event, template=template, method=method)


# --- spokespersons and interview slots --------------------------------------------------------


def _check_slot_times(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise RuleViolation(
            _("The end must be after the start."), code="invalid", field="ends_at", conflict=False
        )


def interview_slot_create(
    *,
    moment: MediaMoment,
    spokesperson: Spokesperson,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    user=None,
    request=None,
) -> InterviewSlot:
    """Offer an interview slot. A spokesperson is never in two places at once: the overlap
    check and the insert run under a lock of the spokesperson row."""
    _check_slot_times(starts_at, ends_at)
    with transaction.atomic():
        _lock_spokesperson(spokesperson.pk)
        overlap = selectors.slot_overlaps(
            spokesperson_id=spokesperson.pk, starts_at=starts_at, ends_at=ends_at
        )
        _after_check()
        if overlap:
            raise _spokesperson_busy()
        slot = InterviewSlot.objects.create(
            moment=moment, spokesperson=spokesperson, starts_at=starts_at, ends_at=ends_at
        )
        moment.spokespersons.add(spokesperson)
        if user is not None:
            audit_record(
                actor=user,
                action="interview_slot.create",
                obj=slot,
                request=request,
                moment_id=moment.pk,
                spokesperson_id=spokesperson.pk,
            )
    return slot


def _spokesperson_busy() -> RuleViolation:
    return RuleViolation(
        _("This spokesperson already has an interview at that time."),
        code="spokesperson_busy",
        field="starts_at",
    )


def interview_slot_update(
    *,
    slot: InterviewSlot,
    spokesperson: Spokesperson,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    user=None,
    request=None,
) -> InterviewSlot:
    """Move a free slot or give it to another spokesperson, under the same rule as
    interview_slot_create (no overlap, checked under the spokesperson lock). A booked slot
    keeps its time and spokesperson: the journalist holding it would not be told of a change."""
    _check_slot_times(starts_at, ends_at)
    with transaction.atomic():
        # The target spokesperson's row serialises every overlap check for them (as in
        # interview_slot_create); leaving the old one frees time and needs no lock.
        _lock_spokesperson(spokesperson.pk)
        locked = _lock_slot(slot.pk)
        changed = (locked.spokesperson_id, locked.starts_at, locked.ends_at) != (
            spokesperson.pk,
            starts_at,
            ends_at,
        )
        if not changed:
            return locked
        if locked.invitation_id is not None:
            raise RuleViolation(
                _("A journalist has booked this interview slot; it cannot be moved."),
                code="not_allowed",
                field="starts_at",
            )
        overlap = selectors.slot_overlaps(
            spokesperson_id=spokesperson.pk,
            starts_at=starts_at,
            ends_at=ends_at,
            exclude_pk=locked.pk,
        )
        _after_check()
        if overlap:
            raise _spokesperson_busy()
        locked.spokesperson = spokesperson
        locked.starts_at, locked.ends_at = starts_at, ends_at
        locked.save(update_fields=["spokesperson", "starts_at", "ends_at"])
        locked.moment.spokespersons.add(spokesperson)
        if user is not None:
            audit_record(
                actor=user,
                action="interview_slot.update",
                obj=locked,
                request=request,
                moment_id=locked.moment_id,
                spokesperson_id=spokesperson.pk,
            )
    return locked


# --- invitations ------------------------------------------------------------------


def press_invitations_send(
    *, moment: MediaMoment, journalists: Iterable[Journalist], user=None, request=None
) -> list[PressInvitation]:
    """Invite each journalist once (a second send skips those already invited) and queue the
    personal invitation. Removed journalists are skipped. By staff (`user`), a send that
    invited anyone is one `press_invitation.send` entry on the moment, with the journalist
    ids."""
    if moment.event.status == Event.Status.CANCELLED:
        raise RuleViolation(_("This media moment has been cancelled."), code="already_cancelled")
    created = []
    with transaction.atomic():
        # Two organisers sending at once: the second waits here and then skips everyone the
        # first invited, instead of failing on the unique (moment, journalist) constraint.
        MediaMoment.objects.select_for_update().get(pk=moment.pk)
        for journalist in journalists:
            if journalist.removed_at is not None:
                continue
            invitation, new = PressInvitation.objects.get_or_create(
                moment=moment, journalist=journalist, defaults={"invited_by": user}
            )
            if not new:
                continue
            _journalist_mail(
                journalist=journalist,
                key=f"press_invitation:{invitation.pk}",
                template="press_invitation",
                context={"invitation_id": invitation.pk},
                event_id=moment.event_id,
            )
            created.append(invitation)
        if created and user is not None:
            audit_record(
                actor=user,
                action="press_invitation.send",
                obj=moment,
                request=request,
                event_id=moment.event_id,
                count=len(created),
                journalist_ids=[invitation.journalist_id for invitation in created],
            )
    return created


def press_invitations_send_confirmed(
    *, moment: MediaMoment, journalist_ids: Iterable[int], user=None, request=None
) -> list[PressInvitation]:
    """Invite exactly the journalists the organiser confirmed, or nobody.

    The organiser saw this list (name, outlet, address) on the confirmation step; an
    invitation links to embargoed material, so nobody else may get one, and a list that no
    longer holds (an id not on the press list, a journalist removed or invited meanwhile, an
    id twice) sends nothing: `selection_changed`, and the organiser selects again.
    """
    ids = list(journalist_ids)
    with transaction.atomic():
        # The lock press_invitations_send takes too: nobody invites in between.
        MediaMoment.objects.select_for_update().get(pk=moment.pk)
        journalists = list(
            selectors.journalist_list().filter(pk__in=ids).exclude(invitations__moment=moment)
        )
        if not ids or len(set(ids)) != len(ids) or {j.pk for j in journalists} != set(ids):
            raise RuleViolation(
                _(
                    "The list you confirmed no longer matches the press list: a journalist "
                    "was removed or has been invited already. Nothing has been sent; please "
                    "select the journalists again."
                ),
                code="selection_changed",
            )
        return press_invitations_send(
            moment=moment, journalists=journalists, user=user, request=request
        )


def _open_invitation(invitation_id: int) -> PressInvitation:
    invitation = _lock_invitation(invitation_id)
    journalist = Journalist.objects.get(pk=invitation.journalist_id)
    if journalist.removed_at is not None:
        raise RuleViolation(
            _("You have been removed from the press list."), code="journalist_removed"
        )
    event = Event.objects.get(pk=invitation.moment.event_id)
    if event.status == Event.Status.CANCELLED:
        raise RuleViolation(_("This media moment has been cancelled."), code="already_cancelled")
    if event.ends_at <= timezone.now():
        raise RuleViolation(_("This media moment is over."), code="deadline_passed")
    return invitation


def press_invitation_respond(*, invitation: PressInvitation, accept: bool) -> PressInvitation:
    """Accept (mail with a calendar invitation) or decline (a booked slot is released; one who
    had accepted gets a calendar cancellation that removes only them: RFC 5546 3.2.5, the
    moment goes on, under a new SEQUENCE). Answering the same way twice changes nothing.

    Takes the event lock after the invitation's (no path takes them the other way round), so
    a change of the moment is ordered with the answer: the invite carries the moment as it is
    then, and a later change mails the journalist who accepted."""
    with transaction.atomic():
        locked = _open_invitation(invitation.pk)
        new_status = PressInvitation.Status.ACCEPTED if accept else PressInvitation.Status.DECLINED
        if locked.status != new_status:
            event = lock_event(locked.moment.event_id)
            if event.status == Event.Status.CANCELLED:
                # Cancelled since _open_invitation read it: the answer comes too late.
                raise RuleViolation(
                    _("This media moment has been cancelled."), code="already_cancelled"
                )
            was_accepted = locked.status == PressInvitation.Status.ACCEPTED
            locked.status = new_status
            locked.responded_at = timezone.now()
            locked.save(update_fields=["status", "responded_at"])
            moment = locked.moment
            if accept:
                _journalist_mail(
                    journalist=locked.journalist,
                    key=f"press_accepted:{locked.pk}",
                    template="press_invitation_accepted",
                    context={"invitation_id": locked.pk},
                    attachments=_ics(event, "REQUEST"),
                    event_id=moment.event_id,
                )
            else:
                InterviewSlot.objects.filter(invitation=locked).update(
                    invitation=None, booked_at=None
                )
                if was_accepted:
                    event_services.event_revision_bump(event=event)
                    _journalist_mail(
                        journalist=locked.journalist,
                        key=f"press_declined:{locked.pk}:{locked.responded_at.timestamp():.0f}",
                        template="press_invitation_declined",
                        context={"invitation_id": locked.pk},
                        attachments=_ics(event, "CANCEL", attendee_removed=True),
                        event_id=moment.event_id,
                    )
    invitation.__dict__.update(status=locked.status, responded_at=locked.responded_at)
    return invitation


def press_accreditation_request(
    *,
    invitation: PressInvitation,
    name: str,
    outlet_name: str,
    crew_size: int,
    camera: bool,
    photo: bool,
) -> PressInvitation:
    """Accreditation implies coming: an invited journalist is accepted at the same time."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = [_("Enter the name for the accreditation.")]
    if not outlet_name.strip():
        errors["outlet_name"] = [_("Enter the outlet.")]
    if not isinstance(crew_size, int) or not 1 <= crew_size <= 20:
        errors["crew_size"] = [_("Enter a crew size from 1 to 20 (yourself included).")]
    if errors:
        raise RuleViolation(
            _("Please correct the marked fields."), code="invalid", conflict=False, errors=errors
        )
    with transaction.atomic():
        locked = _open_invitation(invitation.pk)
        if locked.status == PressInvitation.Status.DECLINED:
            raise RuleViolation(
                _("You declined this invitation; accept it first."), code="not_allowed"
            )
        if locked.status == PressInvitation.Status.INVITED:
            press_invitation_respond(invitation=locked, accept=True)
            locked.status = PressInvitation.Status.ACCEPTED
        first = locked.accreditation_requested_at is None
        locked.accreditation_name = name.strip()[:200]
        locked.accreditation_outlet = outlet_name.strip()[:200]
        locked.crew_size = crew_size
        locked.camera = bool(camera)
        locked.photo = bool(photo)
        locked.accreditation_requested_at = timezone.now()
        locked.save(
            update_fields=[
                "accreditation_name",
                "accreditation_outlet",
                "crew_size",
                "camera",
                "photo",
                "accreditation_requested_at",
            ]
        )
        if first:
            _journalist_mail(
                journalist=locked.journalist,
                key=f"press_accreditation:{locked.pk}",
                template="press_accreditation_received",
                context={"invitation_id": locked.pk},
                event_id=locked.moment.event_id,
            )
    return locked


def interview_slot_book(*, invitation: PressInvitation, slot: InterviewSlot) -> InterviewSlot:
    """Book a free slot for an accepted invitation; a journalist holds at most one slot per
    moment (booking another releases the first). The slot row is locked, so of two journalists
    racing for one slot exactly one gets it."""
    with transaction.atomic():
        locked_invitation = _open_invitation(invitation.pk)
        if locked_invitation.status != PressInvitation.Status.ACCEPTED:
            raise RuleViolation(
                _("Accept the invitation before booking an interview."), code="not_allowed"
            )
        locked = _lock_slot(slot.pk)
        if locked.moment_id != locked_invitation.moment_id:
            raise RuleViolation(
                _("This interview slot belongs to another media moment."),
                code="invalid",
                field="slot",
                conflict=False,
            )
        if locked.invitation_id == locked_invitation.pk:
            return locked
        free = locked.invitation_id is None
        _after_check()
        if not free:
            raise RuleViolation(
                _("Someone else has just booked this interview slot. Please choose another."),
                code="slot_taken",
                field="slot",
            )
        InterviewSlot.objects.filter(invitation=locked_invitation).exclude(pk=locked.pk).update(
            invitation=None, booked_at=None
        )
        locked.invitation = locked_invitation
        locked.booked_at = timezone.now()
        locked.save(update_fields=["invitation", "booked_at"])
        _journalist_mail(
            journalist=locked_invitation.journalist,
            key=f"press_interview:{locked_invitation.pk}:{locked.pk}",
            template="press_interview_booked",
            context={"invitation_id": locked_invitation.pk, "slot_id": locked.pk},
            event_id=locked_invitation.moment.event_id,
        )
    return locked


def press_reminders_send(*, now: dt.datetime | None = None) -> int:
    """Remind journalists who have not answered, every PRESS_REMINDER_DAYS after the
    invitation, at most PRESS_MAX_REMINDERS times, only for moments still ahead. Safe to run
    as often as wanted: the key per invitation and reminder number queues each reminder once."""
    now = now or timezone.now()
    interval = dt.timedelta(days=settings.PRESS_REMINDER_DAYS)
    sent = 0
    candidates = PressInvitation.objects.filter(
        status=PressInvitation.Status.INVITED,
        journalist__removed_at__isnull=True,
        reminders_sent__lt=settings.PRESS_MAX_REMINDERS,
        moment__event__status=Event.Status.PUBLISHED,
        moment__event__starts_at__gt=now,
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        with transaction.atomic():
            invitation = _lock_invitation(pk)
            n = invitation.reminders_sent + 1
            if (
                invitation.status != PressInvitation.Status.INVITED
                or n > settings.PRESS_MAX_REMINDERS
                or invitation.sent_at + interval * n > now
            ):
                continue
            journalist = Journalist.objects.select_related("person").get(
                pk=invitation.journalist_id
            )
            if journalist.removed_at is not None:
                continue
            _journalist_mail(
                journalist=journalist,
                key=f"press_invitation_reminder:{invitation.pk}:{n}",
                template="press_invitation_reminder",
                context={"invitation_id": invitation.pk, "reminder": n},
                event_id=invitation.moment.event_id,
            )
            invitation.reminders_sent = n
            invitation.save(update_fields=["reminders_sent"])
            sent += 1
    return sent


# --- press material ---------------------------------------------------------------------------

ALLOWED_MATERIAL = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def material_type_check(uploaded) -> str:
    """The content type of an upload, judged by extension AND content (never the browser's
    claim). Raises RuleViolation for anything not PDF, JPEG, PNG or DOCX, or too large."""
    name = (uploaded.name or "").lower()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    refuse = RuleViolation(
        _("Upload a PDF, JPEG, PNG or Word (.docx) file."),
        code="invalid",
        field="file",
        conflict=False,
    )
    if ext not in ALLOWED_MATERIAL:
        raise refuse
    if uploaded.size > settings.PRESS_MATERIAL_MAX_BYTES:
        raise RuleViolation(
            _("The file is too large (at most %(mb)s MB).")
            % {"mb": settings.PRESS_MATERIAL_MAX_BYTES // (1024 * 1024)},
            code="invalid",
            field="file",
            conflict=False,
        )
    uploaded.seek(0)
    head = uploaded.read(8)
    uploaded.seek(0)
    content_type = ALLOWED_MATERIAL[ext]
    ok = {
        "application/pdf": head.startswith(b"%PDF-"),
        "image/jpeg": head.startswith(b"\xff\xd8\xff"),
        "image/png": head.startswith(b"\x89PNG\r\n\x1a\n"),
    }.get(content_type)
    if ok is None:  # docx: a zip with a Word document inside
        try:
            with zipfile.ZipFile(uploaded) as archive:
                ok = "word/document.xml" in archive.namelist()
        except zipfile.BadZipFile:
            ok = False
        uploaded.seek(0)
    if not ok:
        raise refuse
    return content_type


def press_material_add(
    *, moment: MediaMoment, kind: str, title: str, file, user=None, request=None
) -> PressMaterial:
    content_type = material_type_check(file)
    if kind not in PressMaterial.Kind.values:
        raise RuleViolation(
            _("Choose the kind of material."), code="invalid", field="kind", conflict=False
        )
    with transaction.atomic():
        material = PressMaterial.objects.create(
            moment=moment,
            kind=kind,
            title=title.strip() or file.name,
            file=file,
            content_type=content_type,
            size=file.size,
        )
        if user is not None:
            audit_record(
                actor=user,
                action="press_material.add",
                obj=material,
                request=request,
                moment_id=moment.pk,
                kind=kind,
                size=material.size,
            )
        return material


def press_material_delete(*, material: PressMaterial, user=None, request=None) -> None:
    """Delete press material: the row, and its file once the deletion is committed (a rolled
    back deletion must not leave a row without its file). Audited with the id it had."""
    with transaction.atomic():
        locked = PressMaterial.objects.select_for_update().filter(pk=material.pk).first()
        if locked is None:
            return
        pk, moment_id, kind = locked.pk, locked.moment_id, locked.kind
        storage, name = locked.file.storage, locked.file.name
        locked.delete()
        if user is not None:
            audit_record(
                actor=user,
                action="press_material.delete",
                obj=(PressMaterial._meta.label_lower, pk),
                request=request,
                moment_id=moment_id,
                kind=kind,
            )
        if name:
            transaction.on_commit(lambda: storage.delete(name))


# --- coverage ------------------------------------------------------------------


def coverage_add(
    *,
    moment: MediaMoment,
    outlet_name: str,
    published_on: dt.date,
    url: str = "",
    estimated_reach: int = 0,
    kind: str = Coverage.Kind.ARTICLE,
    outlet: Organisation | None = None,
    user=None,
    request=None,
) -> Coverage:
    errors: dict[str, list[str]] = {}
    if not outlet_name.strip() and outlet is None:
        errors["outlet_name"] = [_("Enter the outlet.")]
    if estimated_reach < 0:
        errors["estimated_reach"] = [_("The reach cannot be negative.")]
    if kind not in Coverage.Kind.values:
        errors["kind"] = [_("Choose the kind of coverage.")]
    if errors:
        raise RuleViolation(
            _("Please correct the marked fields."), code="invalid", conflict=False, errors=errors
        )
    with transaction.atomic():
        coverage = Coverage.objects.create(
            moment=moment,
            outlet=outlet,
            outlet_name=outlet_name.strip() or outlet.name,
            published_on=published_on,
            url=url,
            estimated_reach=estimated_reach,
            kind=kind,
        )
        if user is not None:
            audit_record(
                actor=user,
                action="coverage.add",
                obj=coverage,
                request=request,
                moment_id=moment.pk,
                kind=kind,
                estimated_reach=estimated_reach,
            )
        return coverage
