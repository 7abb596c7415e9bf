"""Writes for the organisation portal: invitations and member roles."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import RuleViolation
from communications.services import mail_enqueue

from .links import invitation_url
from .models import Invitation, Membership, Organisation

INVITATION_VALID_FOR = timedelta(days=7)


def _require_admin(*, organisation: Organisation, user) -> None:
    is_admin = Membership.objects.filter(
        organisation=organisation, user=user, role=Membership.Role.ADMIN
    ).exists()
    if not is_admin:
        raise RuleViolation(
            _("Only administrators of the organisation may do this."), code="not_allowed"
        )


def invitation_create(
    *, organisation: Organisation, email: str, role: str, invited_by, language: str = "nl"
) -> Invitation:
    """Invite someone by e-mail to join the organisation. Only organisation admins may invite."""
    email = email.strip().lower()
    if role not in Membership.Role.values:
        raise RuleViolation(_("Choose a valid role."), code="invalid", field="role", conflict=False)
    with transaction.atomic():
        _require_admin(organisation=organisation, user=invited_by)
        if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
            raise RuleViolation(
                _("This person is already a member of the organisation."),
                code="already_member",
                field="email",
                conflict=False,
            )
        invitation = Invitation.objects.create(
            organisation=organisation,
            email=email,
            role=role,
            invited_by=invited_by,
            expires_at=timezone.now() + INVITATION_VALID_FOR,
        )
        mail_enqueue(
            key=f"invitation:{invitation.pk}",
            template="organisation_invitation",
            to_email=email,
            language=language,
            context={
                "invitation_id": invitation.pk,
                "organisation_name": organisation.name,
                "invited_by_name": str(invited_by),
                "accept_url": invitation_url(invitation, language=language),
                "valid_days": INVITATION_VALID_FOR.days,
            },
        )
    return invitation


def invitation_accept(
    *,
    invitation: Invitation,
    user=None,
    first_name: str = "",
    last_name: str = "",
    password: str = "",
) -> Membership:
    """Accept an invitation once: creates the account for the invited address if there is none
    (password optional: without one the person logs in with e-mailed links) and the membership.

    `user` is the logged-in user, if any; an existing account must be logged in to accept, so a
    forwarded invitation cannot be used to take over someone's account.
    """
    User = get_user_model()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organisation")
            .get(pk=invitation.pk)
        )
        if invitation.accepted_at is not None:
            raise RuleViolation(_("This invitation has already been used."), code="invalid_link")
        if invitation.expires_at <= timezone.now():
            raise RuleViolation(
                _("This invitation has expired. Ask for a new one."), code="link_expired"
            )
        account = User.objects.filter(email__iexact=invitation.email).first()
        if account is not None:
            if user is None or not user.is_authenticated or user.pk != account.pk:
                raise RuleViolation(
                    _("Log in as %(email)s to accept this invitation.")
                    % {"email": invitation.email},
                    code="login_required",
                )
        else:
            errors: dict[str, list[str]] = {}
            if not first_name.strip():
                errors["first_name"] = [_("Enter your first name.")]
            if not last_name.strip():
                errors["last_name"] = [_("Enter your last name.")]
            if password:
                candidate = User(email=invitation.email, first_name=first_name, last_name=last_name)
                try:
                    validate_password(password, user=candidate)
                except ValidationError as exc:
                    errors["password"] = list(exc.messages)
            if errors:
                raise RuleViolation(
                    next(iter(errors.values()))[0],
                    code="invalid",
                    conflict=False,
                    errors=errors,
                )
            try:
                with transaction.atomic():
                    account = User.objects.create_user(
                        email=invitation.email,
                        password=password or None,
                        first_name=first_name.strip(),
                        last_name=last_name.strip(),
                    )
            except IntegrityError:
                # Someone registered this address a moment ago; they must log in to accept.
                raise RuleViolation(
                    _("Log in as %(email)s to accept this invitation.")
                    % {"email": invitation.email},
                    code="login_required",
                ) from None
        membership, created = Membership.objects.get_or_create(
            user=account,
            organisation=invitation.organisation,
            defaults={"role": invitation.role},
        )
        if not created and invitation.role == Membership.Role.ADMIN:
            membership.role = Membership.Role.ADMIN
            membership.save(update_fields=["role"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = account
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def membership_role_change(*, membership: Membership, role: str, changed_by) -> Membership:
    """Change a member's role. Only admins may; the last admin cannot step down, so an
    organisation is never left without someone who can manage it."""
    if role not in Membership.Role.values:
        raise RuleViolation(_("Choose a valid role."), code="invalid", field="role", conflict=False)
    with transaction.atomic():
        # Lock the organisation's memberships so two admins demoting each other at the same
        # moment cannot both succeed and leave nobody in charge.
        members = list(
            Membership.objects.select_for_update()
            .filter(organisation_id=membership.organisation_id)
            .order_by("pk")
        )
        _require_admin(organisation=membership.organisation, user=changed_by)
        current = next((m for m in members if m.pk == membership.pk), None)
        if current is None:
            raise RuleViolation(_("This member no longer exists."), code="not_found")
        admins = [m for m in members if m.role == Membership.Role.ADMIN]
        if (
            current.role == Membership.Role.ADMIN
            and role != Membership.Role.ADMIN
            and len(admins) == 1
        ):
            raise RuleViolation(
                _("The organisation needs at least one administrator."),
                code="last_admin",
                field="role",
            )
        current.role = role
        current.save(update_fields=["role"])
    return current


def membership_remove(*, membership: Membership, removed_by) -> None:
    """Remove someone from the organisation (their account stays). Only admins may; the last
    admin cannot be removed."""
    with transaction.atomic():
        members = list(
            Membership.objects.select_for_update()
            .filter(organisation_id=membership.organisation_id)
            .order_by("pk")
        )
        _require_admin(organisation=membership.organisation, user=removed_by)
        current = next((m for m in members if m.pk == membership.pk), None)
        if current is None:
            return  # already removed: nothing to do
        admins = [m for m in members if m.role == Membership.Role.ADMIN]
        if current.role == Membership.Role.ADMIN and len(admins) == 1:
            raise RuleViolation(
                _("The organisation needs at least one administrator."), code="last_admin"
            )
        current.delete()
