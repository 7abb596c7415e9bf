"""One world of real objects for the permission tests: organisations A and B with people,
bookings and tokens, campaign C (managed) with event X, another campaign with event Y, school
sessions, press, payments, mailings, exports; and one logged-in client per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import OrganiserRole
from events.models import Event
from organisations.models import Invitation, Membership, Organisation
from tests.factories import (
    CampaignFactory,
    CampaignParticipationFactory,
    CampaignWeekFactory,
    EventFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    RegistrationFactory,
    TicketFactory,
    TicketTypeFactory,
    UserFactory,
    WaitingListEntryFactory,
)

ROLES = [
    "anonymous",
    "org_a_member",
    "org_a_admin",
    "org_b_member",
    "org_a_api",  # organisation A's API key (Authorization: Token)
    "ambassador",
    "journalist",  # the journalist's press link (Authorization: PressLink)
    "checkin_x",  # check-in staff of event X (no staff flag)
    "staff_checkin_x",  # the same role on an account that also has the staff flag
    "manager_c",  # campaign manager of campaign C (event X, not event Y; no staff flag)
    "admin",  # organiser administrator with a verified second factor (staff, superuser)
    "admin_no_staff",  # organiser administrator by role row only, verified second factor
]
# The limited roles have no staff flag, so a page that still asks `is_staff` refuses them and
# the matrix says so; staff_checkin_x has the flag, so a page that asks `is_staff` where it
# should ask for a role admits it and the matrix says so too. admin_no_staff is refused by the
# Django admin only (Django's own gate is the staff flag; docs/permissions.md).


@dataclass
class World:
    users: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.objects[name]
        except KeyError:
            raise AttributeError(name) from None


def verified_admin(email: str = "admin@ministerie.example.nl"):
    user = UserFactory(email=email, is_staff=True, is_superuser=True)
    OrganiserRole.objects.create(user=user, role=OrganiserRole.Role.ADMIN)
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user, device


def client_for(world: World, role: str) -> Client:
    client = Client(**world.headers.get(role, {}))
    user = world.users.get(role)
    if user is not None:
        client.force_login(user)
        device = world.objects.get(f"device_{role}")
        if device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
    return client


def build_world() -> World:  # noqa: PLR0915 - one flat list of objects reads best here
    from api.services import api_token_create
    from backoffice.models import ExportJob
    from communications.feeds import organisation_feed_token
    from communications.models import CertificateRun, OutboxMail
    from mailings import links as mailing_links
    from mailings.models import Mailing, Segment
    from organisations.links import invitation_token
    from participants import links
    from payments.models import Invoice, Payment
    from press import links as press_links
    from press.models import Journalist, MediaMoment, PressInvitation
    from schools import links as school_links
    from schools.models import AvailabilityWindow, SchoolSession, SchoolSessionRequest
    from tests.schools.conftest import AmbassadorFactory

    w = World()
    o = w.objects
    now = timezone.now()

    # Campaign C (managed) with congress X and campaign week W; campaign D with congress Y.
    o["campaign_c"] = CampaignFactory(slug="campaign-c", name="Campagne C")
    o["campaign_d"] = CampaignFactory(slug="campaign-d", name="Campagne D")
    o["event_x"] = EventFactory(campaign=o["campaign_c"], slug="congres-x", title="Congres X")
    o["event_y"] = EventFactory(campaign=o["campaign_d"], slug="congres-y", title="Congres Y")
    o["week"] = CampaignWeekFactory(campaign=o["campaign_c"], slug="week-c")
    o["type_x"] = TicketTypeFactory(event=o["event_x"], name="Standaard")

    # Organisations A and B, each with a booking for event X.
    o["org_a"] = OrganisationFactory(name="Organisatie A")
    o["org_b"] = OrganisationFactory(name="Organisatie B")
    for key in ("a", "b"):
        org = o[f"org_{key}"]
        reg = RegistrationFactory(
            event=o["event_x"],
            organisation=org,
            booker=PersonFactory(organisation=org, email=f"booker-{key}@example.nl"),
        )
        o[f"reg_{key}"] = reg
        o[f"ticket_{key}"] = TicketFactory(
            registration=reg,
            ticket_type=o["type_x"],
            person=PersonFactory(organisation=org, email=f"attendee-{key}@example.nl"),
        )
    o["reg_y"] = RegistrationFactory(event=o["event_y"], organisation=o["org_a"])
    o["ticket_y"] = TicketFactory(registration=o["reg_y"])

    users = w.users
    users["org_a_member"] = MembershipFactory(
        organisation=o["org_a"], user=UserFactory(email="member-a@example.nl")
    ).user
    o["membership_a_admin"] = MembershipFactory(
        organisation=o["org_a"],
        user=UserFactory(email="admin-a@example.nl"),
        role=Membership.Role.ADMIN,
    )
    users["org_a_admin"] = o["membership_a_admin"].user
    o["membership_a_member"] = Membership.objects.get(user=users["org_a_member"])
    users["org_b_member"] = MembershipFactory(
        organisation=o["org_b"], user=UserFactory(email="member-b@example.nl")
    ).user
    o["org_invitation"] = Invitation.objects.create(
        organisation=o["org_a"],
        email="new@example.nl",
        invited_by=users["org_a_admin"],
        expires_at=now + timedelta(days=7),
    )
    o["api_token"], raw_key = api_token_create(organisation=o["org_a"], name="HR-systeem")
    w.headers["org_a_api"] = {"HTTP_AUTHORIZATION": f"Token {raw_key}"}

    o["waitlist"] = WaitingListEntryFactory(event=o["event_x"], ticket_type=o["type_x"])
    o["participation"] = CampaignParticipationFactory(event=o["week"], organisation=o["org_a"])

    # Organisers. Every organiser role needs a verified second factor (accounts.middleware), so
    # each has a device and client_for() gives it a verified session.
    users["admin"], o["device_admin"] = verified_admin()
    users["manager_c"] = UserFactory(email="manager-c@ministerie.example.nl", is_staff=False)
    OrganiserRole.objects.create(
        user=users["manager_c"], role=OrganiserRole.Role.CAMPAIGN_MANAGER
    ).campaigns.add(o["campaign_c"])
    for key, is_staff in (("checkin_x", False), ("staff_checkin_x", True)):
        users[key] = UserFactory(
            email=f"{key.replace('_', '-')}@ministerie.example.nl", is_staff=is_staff
        )
        OrganiserRole.objects.create(
            user=users[key], role=OrganiserRole.Role.CHECKIN_STAFF
        ).events.add(o["event_x"])
    for key in ("manager_c", "checkin_x", "staff_checkin_x"):
        o[f"device_{key}"] = TOTPDevice.objects.create(
            user=users[key], name="authenticator", confirmed=True
        )
    users["admin_no_staff"] = UserFactory(email="beheer@ministerie.example.nl", is_staff=False)
    OrganiserRole.objects.create(user=users["admin_no_staff"], role=OrganiserRole.Role.ADMIN)
    o["device_admin_no_staff"] = TOTPDevice.objects.create(
        user=users["admin_no_staff"], name="authenticator", confirmed=True
    )

    # Payments and invoices of organisation A's booking.
    o["payment"] = Payment.objects.create(
        registration=o["reg_a"],
        stripe_session_id="cs_test_matrix",
        amount_cents=12100,
        status=Payment.Status.PAID,
    )
    o["invoice"] = Invoice.objects.create(
        registration=o["reg_a"],
        number="WS2030-00001",
        key="matrix",
        year=2030,
        sequence=1,
        payment_method="invoice",
        issue_date=date(2030, 1, 2),
        due_date=date(2030, 2, 1),
        seller_name="Ministerie",
        seller_address="Den Haag",
        seller_kvk="12345678",
        seller_vat_number="NL001234567B01",
        buyer_name="Organisatie A",
        buyer_email="booker-a@example.nl",
        total_net_cents=10000,
        total_vat_cents=2100,
        total_gross_cents=12100,
    )

    # Mail, certificates, mailing, export job.
    o["outbox"] = OutboxMail.objects.create(
        key="matrix:1",
        template="booking_confirmed",
        to_email=o["reg_a"].booker.email,
        context={"registration_id": o["reg_a"].pk},
        event=o["event_x"],
    )
    o["run_x"] = CertificateRun.objects.create(event=o["event_x"], kind="attendee")
    o["run_y"] = CertificateRun.objects.create(event=o["event_y"], kind="attendee")
    o["mailing"] = Mailing.objects.create(
        created_by=users["admin"],
        segment=Segment.EVENT_ATTENDEES,
        event=o["event_x"],
        subject_nl="Nieuws",
        body_nl="Beste {{ naam }}",
    )
    o["unsubscribe_token"] = mailing_links.unsubscribe_token(email_hash="0" * 64, scope="all")
    o["export_job"] = ExportJob.objects.create(
        kind="organisations", format="csv", requested_by=users["admin"]
    )

    # Schools: an ambassador with a login, a request and a planned session.
    ambassador = AmbassadorFactory(person__email="ambassadeur@example.nl")
    users["ambassador"] = UserFactory(email="ambassadeur@example.nl")
    ambassador.user = users["ambassador"]
    ambassador.save(update_fields=["user"])
    o["ambassador"] = ambassador
    o["window"] = AvailabilityWindow.objects.create(
        ambassador=ambassador, weekday=1, start_time="09:00", end_time="12:00"
    )
    school = OrganisationFactory(kind=Organisation.Kind.SCHOOL, kvk_number="", brin_code="99ZZ")
    o["school_request"] = SchoolSessionRequest.objects.create(
        school=school,
        campaign=o["campaign_c"],
        contact=PersonFactory(organisation=school),
        education_level="havo",
        pupils=50,
        classes=2,
        status="planned",
    )
    session_event = EventFactory(
        campaign=o["campaign_c"],
        kind=Event.Kind.SCHOOL_SESSION,
        capacity=None,
        status=Event.Status.DRAFT,
    )
    o["school_session"] = SchoolSession.objects.create(
        request=o["school_request"], event=session_event, ambassador=ambassador
    )

    # Press: a media moment with an invitation for one journalist.
    moment_event = EventFactory(
        campaign=o["campaign_c"], kind=Event.Kind.MEDIA_MOMENT, capacity=None
    )
    o["moment"] = MediaMoment.objects.create(event=moment_event, sub_kind="press_conference")
    outlet = Organisation.objects.create(kind=Organisation.Kind.MEDIA_OUTLET, name="Dagblad")
    o["journalist"] = Journalist.objects.create(
        person=PersonFactory(email="journalist@dagblad.example.nl"),
        outlet=outlet,
        media_type="national",
        legal_basis="consent",
        agreed_on=date(2026, 1, 15),
    )
    o["press_invitation"] = PressInvitation.objects.create(
        moment=o["moment"], journalist=o["journalist"]
    )
    w.headers["journalist"] = {
        "HTTP_AUTHORIZATION": f"PressLink {press_links.journalist_token(o['journalist'])}"
    }

    # The capability tokens of the signed links.
    o["tokens"] = {
        "participants:booking_manage": links.booking_token(o["reg_a"]),
        "participants:booking_done": links.booking_token(o["reg_a"]),
        "participants:booking_cancel": links.booking_token(o["reg_a"]),
        "participants:booking_ticket_rename": links.booking_token(o["reg_a"]),
        "participants:booking_ticket_cancel": links.booking_token(o["reg_a"]),
        "participants:ticket_manage": links.ticket_token(o["ticket_a"]),
        "participants:ticket_cancel": links.ticket_token(o["ticket_a"]),
        "participants:ticket_pdf": links.ticket_token(o["ticket_a"]),
        "participants:ticket_ics": links.ticket_token(o["ticket_a"]),
        "participants:waitlist_offer": links.waitlist_offer_token(o["waitlist"]),
        "participants:participation_manage": links.participation_token(o["participation"]),
        "participants:participation_done": links.participation_token(o["participation"]),
        "organisations:invitation_accept": invitation_token(o["org_invitation"]),
        "feeds:organisation_feed": organisation_feed_token(o["org_a"]),
        "payments:checkout": links.booking_token(o["reg_a"]),
        "payments:checkout_return": links.booking_token(o["reg_a"]),
        "payments:booking_invoice_pdf": links.booking_token(o["reg_a"]),
        "press:invitation": press_links.invitation_token(o["press_invitation"]),
        "press:invitation_material": press_links.invitation_token(o["press_invitation"]),
        "press:my_invitations": press_links.journalist_token(o["journalist"]),
        "press:remove": press_links.removal_token(o["journalist"]),
        "schools:request_manage": school_links.request_token(o["school_request"]),
        "schools:ambassador_page": school_links.ambassador_token(ambassador),
        "schools:availability_remove": school_links.ambassador_token(ambassador),
        "schools:feedback": school_links.feedback_token(o["school_session"], "school"),
        "mailings:unsubscribe": o["unsubscribe_token"],
    }
    return w


def add_other_objects(world: World) -> World:
    """Objects the scoped roles must NOT reach, for the matrix's second walk: event Y's money
    and organisation B's membership and API key (organisation B's booking, event Y, campaign D
    and event Y's certificate run are in the world already), another journalist's invitation
    and another ambassador's availability. Kept out of build_world so other tests that use the
    world see the same objects as before."""
    from api.services import api_token_create
    from payments.models import Invoice, Payment
    from press.models import Journalist, PressInvitation
    from schools.models import AvailabilityWindow
    from tests.schools.conftest import AmbassadorFactory

    o = world.objects
    o["payment_other"] = Payment.objects.create(
        registration=o["reg_y"],
        stripe_session_id="cs_test_matrix_other",
        amount_cents=12100,
        status=Payment.Status.PAID,
    )
    invoice = Invoice.objects.get(pk=o["invoice"].pk)
    invoice.pk = None
    invoice.registration = o["reg_y"]
    invoice.number, invoice.key, invoice.sequence = "WS2030-00003", "matrix-other", 3
    invoice.issue_date = date(2030, 1, 4)
    invoice.save()
    o["invoice_other"] = invoice
    o["membership_b"] = Membership.objects.get(user=world.users["org_b_member"])
    o["api_token_b"], _raw = api_token_create(organisation=o["org_b"], name="Ander systeem")
    other = Journalist.objects.create(
        person=PersonFactory(email="verslaggever@weekblad.example.nl"),
        outlet=o["journalist"].outlet,
        media_type="national",
        legal_basis="consent",
        agreed_on=date(2026, 1, 15),
    )
    o["press_invitation_other"] = PressInvitation.objects.create(
        moment=o["moment"], journalist=other
    )
    o["window_other"] = AvailabilityWindow.objects.create(
        ambassador=AmbassadorFactory(person__email="andere-ambassadeur@example.nl"),
        weekday=2,
        start_time="09:00",
        end_time="12:00",
    )
    return world
