"""The declared policy: URL name -> who may use it. A URL name missing here fails the matrix.

`allowed` is a set of roles (see world.ROLES), ANY (everyone, incl. anonymous), or SAME: a
signed-link page or file whose link is the permission, so the answer must not depend on who
is logged in. `methods`: what the matrix sends (POST only to pages that take it; admin routes
are GET only because an empty POST to a delete page would delete).
`post_allowed`: roles that may change things, when narrower than `allowed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.permissions.world import ROLES

ANY = frozenset(ROLES)
SAME = object()

LOGGED_IN = ANY - {"anonymous", "org_a_api", "journalist"}
# Organiser administrators, whether by staff flag or by role row. The Django admin is for the
# administrator with the staff flag only (Django's own gate, kept on purpose).
ADMIN = frozenset({"admin", "admin_no_staff"})
DJANGO_ADMIN = frozenset({"admin"})
MANAGER = ADMIN | {"manager_c"}
CHECKIN = MANAGER | {"checkin_x", "staff_checkin_x"}
ORG_A = frozenset({"org_a_member", "org_a_admin"})
ORG_A_ADMIN = frozenset({"org_a_admin"})


@dataclass(frozen=True)
class Policy:
    allowed: object
    methods: tuple[str, ...] = ("GET", "POST")
    post_allowed: frozenset | None = None
    # False where an allowed role may still get a 403/404 for another reason than its role
    # (a read-only admin page, a file not made yet); refusals of the others are still checked.
    check_allowed: bool = True


def expected_allowed(policy: Policy, role: str, method: str) -> bool:
    roles = policy.allowed
    if method == "POST" and policy.post_allowed is not None:
        roles = policy.post_allowed
    return role in roles


# The matrix's second walk: the same routes with another campaign's, organisation's or
# person's object in the path (world.add_other_objects). Path kwarg -> world object; for the
# organisation portal only the object changes, the URL stays organisation A's.
OTHER_OBJECTS = {
    "event_id": "event_y",
    "campaign_id": "campaign_d",
    "run_id": "run_y",
    "payment_id": "payment_other",
    "invoice_id": "invoice_other",
    "registration_id": "reg_b",
    "ticket_id": "ticket_b",
    "code": "reg_b",
    "membership_id": "membership_b",
    "token_id": "api_token_b",
    "invitation_id": "press_invitation_other",
    "window_id": "window_other",
}
# Roles limited to their own campaign, events, organisation, sessions or invitations: on those
# other objects they are refused wherever the first walk admitted them. Administrators keep
# their access; public and signed-link routes are not walked again.
SCOPED_ROLES = frozenset(
    {
        "manager_c",
        "checkin_x",
        "staff_checkin_x",
        "org_a_member",
        "org_a_admin",
        "org_a_api",
        "ambassador",
        "journalist",
    }
)


def expected_allowed_on_other(policy: Policy, role: str, method: str) -> bool:
    return expected_allowed(policy, role, method) and role not in SCOPED_ROLES


def other_kwargs(world) -> dict:
    o = world.objects
    values = {key: o[obj].pk for key, obj in OTHER_OBJECTS.items()}
    values["code"] = o["reg_b"].code
    return values


GET = ("GET",)
POST = ("POST",)
LINK = Policy(SAME, GET)
PUBLIC = Policy(ANY, GET)

POLICY: dict[str, Policy] = {
    # Framework, accounts.
    "set_language": Policy(ANY, POST),
    "healthz": PUBLIC,
    "home": PUBLIC,
    "admin:*": Policy(DJANGO_ADMIN, GET, check_allowed=False),
    "admin:index": Policy(DJANGO_ADMIN, GET),
    "admin:login": PUBLIC,
    "admin:logout": Policy(ANY, ()),
    "accounts:login": PUBLIC,
    "accounts:logout": Policy(ANY, ()),  # logging out is never refused; not walked
    "accounts:magic_link_request": PUBLIC,
    "accounts:magic_link_sent": PUBLIC,
    "accounts:magic_link_login": LINK,
    "accounts:password_reset": PUBLIC,
    "accounts:password_reset_sent": PUBLIC,
    "accounts:password_reset_confirm": LINK,
    "accounts:password_reset_complete": PUBLIC,
    "accounts:otp_setup": Policy(LOGGED_IN, GET),
    # Without a confirmed device the verify page sends people to the setup page; every
    # organiser role has one (two-factor is required for all of them).
    "accounts:otp_verify": Policy(CHECKIN, GET),
    # Public event pages and forms (POSTs there book or sign up: GET only).
    "events:list": PUBLIC,
    "events:detail": PUBLIC,
    "events:campaign_list": PUBLIC,
    "events:campaign_detail": PUBLIC,
    "participants:booking_create": PUBLIC,
    "participants:waitlist_join": PUBLIC,
    "participants:participation_create": PUBLIC,
    "participants:participation_list": PUBLIC,
    "feeds:event_calendar": PUBLIC,
    "feeds:campaign_feed": PUBLIC,
    "documents:certificate_verify_form": PUBLIC,
    "documents:certificate_verify": LINK,  # the printed code is the permission
    "press:page": PUBLIC,
    "schools:request_create": PUBLIC,
    # Signed links: the link is the permission.
    "participants:booking_manage": LINK,
    "participants:booking_done": LINK,
    "participants:booking_cancel": LINK,
    "participants:booking_ticket_rename": LINK,
    "participants:booking_ticket_cancel": LINK,
    "participants:ticket_manage": LINK,
    "participants:ticket_cancel": LINK,
    "participants:ticket_pdf": LINK,
    "participants:ticket_ics": LINK,
    "participants:waitlist_offer": LINK,
    "participants:participation_manage": LINK,
    "participants:participation_done": LINK,
    "organisations:invitation_accept": Policy(SAME, ()),  # asks for a login; not walked
    "feeds:organisation_feed": LINK,
    "payments:checkout": LINK,
    "payments:checkout_return": LINK,
    "payments:booking_invoice_pdf": LINK,
    "payments:stripe_webhook": Policy(SAME, ()),  # signed by Stripe; tests/payments
    "press:invitation": LINK,
    "press:invitation_material": LINK,
    "press:my_invitations": LINK,
    "press:remove": LINK,
    "press:material_download": LINK,  # embargo check, not a role: tests/press
    "schools:request_manage": LINK,
    "schools:ambassador_page": LINK,
    "schools:availability_remove": Policy(SAME, ()),  # POST deletes; tests/schools
    "schools:feedback": LINK,
    "mailings:unsubscribe": LINK,
    # Organisation portal: members of A see A; admin-only pages for A's administrators.
    "organisations:portal": Policy(LOGGED_IN, GET),
    "organisations:dashboard": Policy(ORG_A, GET),
    "organisations:booking": Policy(ORG_A, GET),
    "organisations:attendee_add": Policy(ORG_A),
    "organisations:ticket_change": Policy(ORG_A),
    "organisations:ticket_cancel": Policy(ORG_A, POST),
    "organisations:members": Policy(ORG_A, GET),
    "organisations:member_invite": Policy(ORG_A_ADMIN),
    "organisations:member_role": Policy(ORG_A_ADMIN, POST),
    "organisations:member_remove": Policy(ORG_A_ADMIN, POST),
    "organisations:api_tokens": Policy(ORG_A_ADMIN),
    "organisations:api_token_revoke": Policy(ORG_A_ADMIN, POST),
    # Ambassadors: their own page.
    "schools:ambassador_me": Policy(frozenset({"ambassador"}), GET),
    "schools:availability_remove_me": Policy(frozenset({"ambassador"}), POST),
    # Organiser pages.
    "participants:event_checkin": Policy(CHECKIN),
    # Payments: campaign managers of the event's campaign too, refunds and marking invoices
    # paid included (docs/permissions.md, "Money actions"); check-in staff not.
    "payments:event_payments": Policy(MANAGER, GET),
    "payments:payment_refund": Policy(MANAGER),
    "payments:invoice_mark_paid": Policy(MANAGER, POST),
    "payments:invoice_pdf": Policy(MANAGER, GET),
    # Administrator-only by design (docs/permissions.md): the outbox, press, schools, mailings
    # and privacy pages show or change everyone's personal data across campaigns, so campaign
    # managers and check-in staff are refused whatever their staff flag.
    "communications:outbox_list": Policy(ADMIN, GET),
    "communications:outbox_detail": Policy(ADMIN, GET),
    "communications:outbox_html": Policy(ADMIN, GET),
    "communications:outbox_resend": Policy(ADMIN, POST),
    "communications:certificate_runs": Policy(MANAGER),
    "communications:certificate_run": Policy(MANAGER, GET),
    "press:staff_moments": Policy(ADMIN),
    "press:staff_moment_create": Policy(ADMIN),
    "press:staff_moment_edit": Policy(ADMIN),
    "press:staff_hooks": Policy(ADMIN),
    "press:staff_invite": Policy(ADMIN),
    "press:staff_material": Policy(ADMIN),
    "schools:board": Policy(ADMIN, GET),
    "schools:request_plan": Policy(ADMIN),
    "schools:session_detail": Policy(ADMIN),
    "schools:statistics": Policy(ADMIN, GET),
    "mailings:list": Policy(ADMIN, GET),
    "mailings:create": Policy(ADMIN),
    "mailings:detail": Policy(ADMIN, GET),
    "mailings:edit": Policy(ADMIN),
    "mailings:send": Policy(ADMIN, POST),
    "privacy:audit_log": Policy(ADMIN, GET),
    "privacy:retention": Policy(ADMIN),
    "privacy:person": Policy(ADMIN),
    "backoffice:index": Policy(MANAGER, GET),
    "backoffice:campaign_dashboard": Policy(MANAGER, GET),
    "backoffice:event_dashboard": Policy(MANAGER, GET),
    "backoffice:export": Policy(MANAGER),
    "backoffice:export_job": Policy(ADMIN, GET),  # the requester (admin here) and administrators
    "backoffice:export_download": Policy(ADMIN, GET, check_allowed=False),  # file not made yet
    # API. Public reads; organisation A's key for its bookings; organisers by session.
    "api:schema": PUBLIC,
    "api:docs": PUBLIC,
    "api:redoc": PUBLIC,
    "api:not_found": Policy(SAME, ()),
    "api:v1:event_list": PUBLIC,
    "api:v1:event_detail": PUBLIC,
    # List-and-create endpoints: POST is walked too, so a refused role's create is checked (an
    # allowed role's empty POST is a validation error, not judged).
    "api:v1:booking_list": Policy(frozenset({"org_a_api"})),
    "api:v1:booking_detail": Policy(frozenset({"org_a_api"}), GET),
    "api:v1:ticket_cancel": Policy(frozenset({"org_a_api"}), POST),
    "api:v1:participation_list": Policy(frozenset({"org_a_api"})),
    "api:v1:event_checkin": Policy(CHECKIN, POST),
    "api:v1:school_request_list": Policy(ADMIN, post_allowed=ANY),  # schools ask publicly
    "api:v1:school_request_detail": Policy(ADMIN, GET),
    "api:v1:ambassador_list": Policy(ADMIN, GET),
    "api:v1:school_session_list": Policy(ADMIN | {"ambassador"}, GET),
    "api:v1:press_journalist_list": Policy(ADMIN),
    "api:v1:press_invitation_list": Policy(ADMIN, GET),
    "api:v1:press_my_invitations": Policy(frozenset({"journalist"}), GET),
    "api:v1:press_my_invitation_detail": Policy(frozenset({"journalist"}), GET),
    "api:v1:press_coverage_list": Policy(ADMIN),
    "api:v1:press_coverage_totals": Policy(ADMIN, GET),
}


def kwargs_for(name: str | None, world) -> dict:
    """Path kwargs for a URL name, from the world's objects."""
    o = world.objects
    tokens = o["tokens"]
    values = {
        "event_id": o["event_x"].pk,
        "organisation_id": o["org_a"].pk,
        "registration_id": o["reg_a"].pk,
        "ticket_id": o["ticket_a"].pk,
        "membership_id": o["membership_a_member"].pk,
        "token_id": o["api_token"].pk,
        "payment_id": o["payment"].pk,
        "invoice_id": o["invoice"].pk,
        "run_id": o["run_x"].pk,
        "request_id": o["school_request"].pk,
        "session_id": o["school_session"].pk,
        "window_id": o["window"].pk,
        "campaign_id": o["campaign_c"].pk,
        "job_id": o["export_job"].pk,
        "invitation_id": o["press_invitation"].pk,
        "slug": o["event_x"].slug,
        "code": o["reg_a"].code,
    }
    if name in tokens:
        values["token"] = tokens[name]
    if name and name.startswith("events:campaign") or name == "feeds:campaign_feed":
        values["slug"] = o["campaign_c"].slug
    if name and name.startswith("participants:participation"):
        values["slug"] = o["week"].slug
    if name and name.startswith("press:"):
        values["pk"] = o["moment"].pk
    if name == "press:material_download" or name == "press:invitation_material":
        values["pk"] = 2**31  # no material in the world: every role gets the same 404
    if name and name.startswith("communications:outbox"):
        values["pk"] = o["outbox"].pk
    if name and name.startswith("mailings:"):
        values["pk"] = o["mailing"].pk
    if name == "documents:certificate_verify":
        values["code"] = "ABCD-EFGH-JKLM"
    if name == "accounts:magic_link_login":
        values["token"] = "not-a-valid-link"
    if name == "accounts:password_reset_confirm":
        values.update(uidb64="MQ", token="set-password")
    if name and name.startswith("admin:"):
        values.update(_admin_kwargs(name, world))
    return values


def _admin_kwargs(name: str, world) -> dict:
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    if name == "admin:view_on_site":
        event = world.objects["event_x"]
        return {
            "content_type_id": ContentType.objects.get_for_model(event).pk,
            "object_id": event.pk,
        }
    parts = name.removeprefix("admin:").rsplit("_", 1)
    if len(parts) != 2:
        return {}
    label = parts[0]
    if label == "auth_user":  # the password page of the custom user model
        label = "accounts_user"
    for model in apps.get_models():
        if f"{model._meta.app_label}_{model._meta.model_name}" == label:
            obj = model._default_manager.order_by("pk").first()
            if obj is not None:
                return {"object_id": obj.pk, "id": obj.pk}
    return {}
