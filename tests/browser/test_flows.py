"""Whole user flows in a real browser, through the rendered pages only: what the user types and
clicks, what they then see, and what the database and the sent mail hold afterwards.

Data that a flow does not create itself (an event, an existing booking) is made with factories
or the same services the site uses; everything the flow is about goes through the pages. Mail
is sent for real by the eager Celery task into Django's test mailbox, and links are followed
exactly as they appear in the mail text.
"""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import OrganiserRole
from communications.models import OutboxMail
from events.models import Question
from organisations.models import Invitation, Membership
from participants import services
from participants.models import (
    Answer,
    CampaignParticipation,
    Registration,
    Ticket,
    WaitingListEntry,
)
from tests.browser.helpers import (
    assert_no_page_problems,
    link_in_mail,
    log_in,
    mails_to,
)
from tests.factories import (
    CampaignFactory,
    CampaignWeekFactory,
    EventFactory,
    MembershipFactory,
    OrganisationFactory,
    PersonFactory,
    QuestionFactory,
    TicketFactory,
    TicketTypeFactory,
    UserFactory,
    region,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "werkstress-test-wachtwoord"
# The fragment of the last "add another attendee" click survives the redirect, so match the path.
BOOKING_DONE = re.compile(r"/nl/booking/[^/]+/confirmation/")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


# --- 1. Campaign-week sign-up ------------------------------------------------------------------


def fill_sign_up(page, *, kvk: str, name: str, email: str) -> None:
    page.fill("#id_kvk_number", kvk)
    page.fill("#id_name", name)
    page.get_by_label("Sector").select_option(label="Zorg en welzijn")
    page.locator("#id_size_band").select_option(label="50 tot 249 medewerkers")
    page.locator("#id_region").select_option(label=region("12").name)
    page.fill("#id_street", "Stationsplein 10")
    page.fill("#id_postcode", "3511ed")
    page.fill("#id_city", "Utrecht")
    page.fill("#id_contact_name", "Fatima el Amrani")
    page.fill("#id_contact_email", email)
    page.get_by_label("Workshop of training").check()
    page.get_by_label("Lunchlezing").check()
    page.fill("#id_activities_description", "Een workshop over werkdruk voor alle teams.")
    page.fill("#id_employees_reached", "120")
    page.locator("#id_listed_publicly").get_by_label("Ja").check()


def test_organisation_signs_up_for_the_campaign_week(page):
    week = CampaignWeekFactory(title="Week van de Werkstress 2031", slug="week-2031")
    page.goto(f"/nl/events/{week.slug}/sign-up/")
    fill_sign_up(page, kvk="1234 5678", name="Zorggroep Noorderlicht", email="hr@noorderlicht.nl")
    page.get_by_role("button", name="Aanmelden").click()

    page.wait_for_url("**/nl/sign-up/*/confirmation/")
    assert page.get_by_role("heading", level=1).inner_text() == "Bedankt voor uw aanmelding"
    facts = page.locator("dl.facts").inner_text()
    for seen in ("Zorggroep Noorderlicht", "12345678", "Fatima el Amrani", "Lunchlezing", "120"):
        assert seen in facts
    assert_no_page_problems(page)

    participation = CampaignParticipation.objects.select_related("organisation", "contact").get()
    assert participation.event == week
    assert sorted(participation.activities) == ["lunch_lecture", "workshop"]
    assert participation.employees_reached == 120
    organisation = participation.organisation
    assert (organisation.name, organisation.kvk_number) == ("Zorggroep Noorderlicht", "12345678")
    assert (organisation.postcode, organisation.region.code) == ("3511 ED", "12")
    assert organisation.listed_publicly
    assert participation.contact.email == "hr@noorderlicht.nl"
    # The confirmation mail's personal link opens the same sign-up page.
    (confirmation,) = mails_to("hr@noorderlicht.nl")
    page.goto(link_in_mail(confirmation, "/sign-up/"))
    assert "Zorggroep Noorderlicht" in page.locator("dl.facts").inner_text()

    # A second sign-up with the same KvK number is refused next to the KvK field.
    page.goto(f"/nl/events/{week.slug}/sign-up/")
    fill_sign_up(page, kvk="12345678", name="Noorderlicht", email="ander@noorderlicht.nl")
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_load_state()
    assert page.locator("#id_kvk_number_error").is_visible()
    assert page.locator("#id_kvk_number").get_attribute("aria-invalid") == "true"
    assert CampaignParticipation.objects.count() == 1


# --- 2. Group booking with questions --------------------------------------------------------


@pytest.fixture
def congress(db):
    campaign = CampaignFactory(name="Week van de Werkstress", slug="wvdw")
    event = EventFactory(
        campaign=campaign,
        title="Congres Gezond Werken",
        slug="congres-gezond-werken",
        capacity=60,
        cancellation_deadline=timezone.now() + timedelta(days=20),
    )
    TicketTypeFactory(event=event, name="Deelnemer", price_cents=0, position=0)
    TicketTypeFactory(event=event, name="Workshopdag", price_cents=0, position=1)
    TicketTypeFactory(event=event, name="Met diner", price_cents=4500, position=2)
    QuestionFactory(event=event, label="Dieetwensen", kind=Question.Kind.TEXT, position=1)
    QuestionFactory(
        event=event,
        label="Welke workshop?",
        kind=Question.Kind.CHOICE,
        choices="Ochtend\nMiddag",
        required=True,
        position=2,
    )
    QuestionFactory(
        event=event, label="Blijft u lunchen?", kind=Question.Kind.YES_NO, required=True, position=3
    )
    return event


ATTENDEES = [
    # name, e-mail, ticket type label, diet, workshop, lunch
    ("Ans de Vries", "ans@noorderlicht.nl", "Deelnemer (gratis)", "Vegetarisch", "Ochtend", "Ja"),
    ("Bram Jansen", "bram@noorderlicht.nl", "Workshopdag (gratis)", "", "Middag", "Nee"),
    ("Cor Bakker", "cor@noorderlicht.nl", "Met diner (€ 45,00)", "Geen noten", "Middag", "Ja"),
]


def fill_attendee(page, index: int, attendee) -> None:
    name, email, ticket_label, diet, workshop, lunch = attendee
    row = page.locator(f"#attendee-{index + 1}")
    row.get_by_label("Naam", exact=False).first.fill(name)
    page.fill(f"#id_attendees-{index}-email", email)
    page.select_option(f"#id_attendees-{index}-ticket_type", label=ticket_label)
    row.get_by_label("Dieetwensen").fill(diet)
    row.get_by_label("Welke workshop?").select_option(workshop)
    row.get_by_role("group", name="Blijft u lunchen?").get_by_label(lunch, exact=True).check()


def test_organisation_books_three_attendees_with_answers(page, congress):
    page.goto(f"/nl/events/{congress.slug}/book/")
    page.fill("#id_booker_name", "Fatima el Amrani")
    page.fill("#id_booker_email", "hr@noorderlicht.nl")
    page.fill("#id_organisation_name", "Zorggroep Noorderlicht")
    page.fill("#id_kvk_number", "12345678")
    for index, attendee in enumerate(ATTENDEES):
        if index:
            page.get_by_role("button", name="Nog een deelnemer toevoegen").click()
            page.locator(f"#attendee-{index + 1}").wait_for()
        fill_attendee(page, index, attendee)
    # A paid ticket is chosen: the payment choice appears, and the employer pays by invoice.
    assert page.locator("#payment-section").is_visible()
    page.get_by_label("Op factuur aan de organisatie").check()
    page.get_by_role("button", name="Nu boeken").click()

    page.wait_for_url(BOOKING_DONE)
    assert page.get_by_role("heading", level=1).inner_text() == "Bedankt voor uw boeking"
    code = page.locator(".booking-code").inner_text()
    table = page.get_by_role("table", name="Deelnemers")
    for name, email, ticket_label, *_ in ATTENDEES:
        row = table.get_by_role("row").filter(has_text=name)
        assert email in row.inner_text()
        assert ticket_label.split(" (")[0] in row.inner_text()
        assert "Geldig" in row.inner_text()
    assert_no_page_problems(page)

    registration = Registration.objects.select_related("organisation", "booker").get()
    assert registration.code == code
    assert registration.status == Registration.Status.CONFIRMED
    assert registration.payment_method == Registration.PaymentMethod.INVOICE
    assert registration.organisation.kvk_number == "12345678"
    assert registration.booker.email == "hr@noorderlicht.nl"
    tickets = {t.person.name: t for t in registration.tickets.select_related("person")}
    assert sorted(tickets) == [a[0] for a in ATTENDEES]
    for name, email, ticket_label, diet, workshop, lunch in ATTENDEES:
        ticket = tickets[name]
        assert ticket.status == Ticket.Status.VALID
        assert ticket.person.email == email
        assert ticket.ticket_type.name == ticket_label.split(" (")[0]
        answers = {
            a.question.label: a.value
            for a in Answer.objects.filter(ticket=ticket).select_related("question")
        }
        expected = {
            "Welke workshop?": workshop,
            "Blijft u lunchen?": {"Ja": "yes"}.get(lunch, "no"),
        }
        if diet:
            expected["Dieetwensen"] = diet
        assert answers == expected

    # The outbox: one confirmation for the booker, a ticket for each attendee; all sent.
    # Paying by invoice: the invoice goes to the booker too.
    queued = sorted((m.template, m.to_email) for m in OutboxMail.objects.all())
    assert queued == sorted(
        [
            ("booking_confirmed", "hr@noorderlicht.nl"),
            ("invoice_issued", "hr@noorderlicht.nl"),
            *(("ticket_confirmed", a[1]) for a in ATTENDEES),
        ]
    )
    assert set(
        OutboxMail.objects.filter(template__in=["booking_confirmed", "ticket_confirmed"])
        .values_list("status", flat=True)
        .distinct()
    ) == {OutboxMail.Status.SENT}
    for _name, email, *_ in ATTENDEES:
        (ticket_mail,) = mails_to(email)
        assert code in ticket_mail.body
        # The ticket PDF and the calendar invitation travel with it.
        kinds = {a[2].split(";")[0]: a[1] for a in ticket_mail.attachments}
        assert sorted(kinds) == ["application/pdf", "text/calendar"]
        assert kinds["application/pdf"].startswith(b"%PDF")


# --- 3. Cancel through the personal link; the waiting list gets the place -------------------------


def test_attendee_cancels_through_the_mailed_link_and_the_waiting_list_is_offered(page):
    event = EventFactory(
        title="Masterclass Veerkracht",
        slug="masterclass",
        capacity=1,
        cancellation_deadline=timezone.now() + timedelta(days=10),
    )
    standard = TicketTypeFactory(event=event, name="Standaard", price_cents=0)
    services.registration_create(
        event=event,
        booker_name="Ans de Vries",
        booker_email="ans@example.nl",
        attendees=[
            services.AttendeeInput(
                name="Ans de Vries", email="ans@example.nl", ticket_type_id=standard.pk
            )
        ],
    )
    waiting = services.waitlist_join(
        event=event, ticket_type=standard, name="Wim Wachter", email="wim@example.nl"
    )
    assert waiting.status == WaitingListEntry.Status.WAITING  # the one place is taken

    # Ans opens the link in her ticket mail.
    ticket_mail = next(m for m in mails_to("ans@example.nl") if "/ticket/" in m.body)
    page.goto(link_in_mail(ticket_mail, "/ticket/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Uw ticket"
    page.get_by_role("link", name="Mijn ticket annuleren").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Dit ticket annuleren?"
    page.get_by_role("button", name="Ja, annuleren").click()
    page.wait_for_url("**/nl/ticket/*/")
    assert "Uw ticket is geannuleerd." in page.locator("main").inner_text()
    assert "Geannuleerd" in page.locator("dl.facts").inner_text()
    assert page.get_by_role("link", name="Mijn ticket annuleren").count() == 0
    assert_no_page_problems(page)

    ticket = Ticket.objects.get(person__email="ans@example.nl")
    assert ticket.status == Ticket.Status.CANCELLED
    assert ticket.cancelled_at is not None
    waiting.refresh_from_db()
    assert waiting.status == WaitingListEntry.Status.OFFERED
    assert OutboxMail.objects.filter(
        template="ticket_cancelled", to_email="ans@example.nl"
    ).exists()

    # Wim follows the offer in his mail and takes the place.
    offer = next(m for m in mails_to("wim@example.nl") if "/waiting-list/" in m.body)
    page.goto(link_in_mail(offer, "/waiting-list/"))
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Er is een plaats voor u vrijgekomen"
    )
    page.get_by_role("button", name="Plaats aannemen").click()
    page.wait_for_url(BOOKING_DONE)
    assert "Wim Wachter" in page.get_by_role("table").inner_text()
    waiting.refresh_from_db()
    assert waiting.status == WaitingListEntry.Status.ACCEPTED
    assert Ticket.objects.get(person__email="wim@example.nl").status == Ticket.Status.VALID


# --- 4. The organisation portal -----------------------------------------------------------------


def _book_for(organisation, event, ticket_type, people):
    return services.registration_create(
        event=event,
        organisation=organisation,
        booker_name=people[0][0],
        booker_email=people[0][1],
        attendees=[
            services.AttendeeInput(name=n, email=e, ticket_type_id=ticket_type.pk)
            for n, e in people
        ],
    )


@pytest.fixture
def two_organisations(db):
    event = EventFactory(
        title="Congres Gezond Werken",
        slug="congres",
        cancellation_deadline=timezone.now() + timedelta(days=20),
    )
    standard = TicketTypeFactory(event=event, name="Standaard", price_cents=0)
    ours = OrganisationFactory(name="Zorggroep Noorderlicht")
    theirs = OrganisationFactory(name="Bouwbedrijf Zuiderzon")
    admin = UserFactory(
        email="hr@noorderlicht.nl", first_name="Fatima", last_name="el Amrani", password=PASSWORD
    )
    MembershipFactory(organisation=ours, user=admin, role=Membership.Role.ADMIN)
    MembershipFactory(
        organisation=theirs,
        user=UserFactory(email="hr@zuiderzon.nl", password=PASSWORD),
        role=Membership.Role.ADMIN,
    )
    return {
        "event": event,
        "ours": ours,
        "theirs": theirs,
        "our_booking": _book_for(
            ours,
            event,
            standard,
            [("Ans de Vries", "ans@noorderlicht.nl"), ("Bram Jansen", "bram@noorderlicht.nl")],
        ),
        "their_booking": _book_for(
            theirs, event, standard, [("Zeger Zuiderzon", "zeger@zuiderzon.nl")]
        ),
    }


def test_organisation_member_manages_bookings_in_the_portal(
    browser, live_url, page, two_organisations
):
    ours, theirs = two_organisations["ours"], two_organisations["theirs"]
    booking, their_booking = two_organisations["our_booking"], two_organisations["their_booking"]

    log_in(page, "hr@noorderlicht.nl", PASSWORD)
    page.wait_for_url(f"**/nl/organisations/{ours.pk}/")
    main = page.locator("main")
    assert page.get_by_role("heading", level=1).inner_text() == "Zorggroep Noorderlicht"
    assert booking.code in main.inner_text()
    assert "Ans de Vries" in main.inner_text() and "Bram Jansen" in main.inner_text()
    assert their_booking.code not in page.content() and "Zeger" not in page.content()

    # Swap Bram's place to a colleague.
    page.get_by_role("link", name=booking.code).click()
    page.wait_for_url(f"**/nl/organisations/{ours.pk}/bookings/{booking.pk}/")
    bram = booking.tickets.get(person__name="Bram Jansen")
    old_secret = bram.secret
    page.get_by_role("link", name="Wijzigen of ruilen Bram Jansen").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Deelnemer wijzigen of ruilen"
    page.get_by_label("Naam").fill("Dirk Visser")
    page.get_by_label("E-mailadres").fill("dirk@noorderlicht.nl")
    page.get_by_role("button", name="Opslaan").click()
    page.wait_for_url(f"**/nl/organisations/{ours.pk}/bookings/{booking.pk}/")
    assert "De deelnemer is gewijzigd." in main.inner_text()
    attendees = page.get_by_role("table", name="Deelnemers van deze boeking").inner_text()
    assert "Dirk Visser" in attendees and "Bram Jansen" not in attendees
    assert_no_page_problems(page)
    bram.refresh_from_db()
    assert (bram.person.name, bram.person.email) == ("Dirk Visser", "dirk@noorderlicht.nl")
    assert bram.secret != old_secret  # Bram's QR code and link no longer work
    assert mails_to("bram@noorderlicht.nl")  # Bram hears his place went to someone else
    assert any("/ticket/" in m.body for m in mails_to("dirk@noorderlicht.nl"))

    # Invite a colleague.
    page.get_by_role("navigation", name="Organisatieportaal").get_by_role(
        "link", name="Leden"
    ).click()
    page.get_by_label("E-mailadres van uw collega").fill("collega@noorderlicht.nl")
    page.get_by_role("button", name="Uitnodiging versturen").click()
    page.wait_for_url(f"**/nl/organisations/{ours.pk}/members/")
    assert "Er is een uitnodiging gestuurd naar collega@noorderlicht.nl." in main.inner_text()
    assert "collega@noorderlicht.nl" in main.inner_text()  # listed under open invitations
    invitation = Invitation.objects.get()
    assert (invitation.organisation, invitation.role) == (ours, Membership.Role.MEMBER)

    # Another organisation's rows are not found, not even by typing their addresses.
    their_ticket = their_booking.tickets.get()
    for path in (
        f"/nl/organisations/{theirs.pk}/",
        f"/nl/organisations/{theirs.pk}/members/",
        f"/nl/organisations/{ours.pk}/bookings/{their_booking.pk}/",
        f"/nl/organisations/{ours.pk}/tickets/{their_ticket.pk}/change/",
    ):
        response = page.goto(path)
        assert response.status == 404, path
        assert "Zeger" not in page.content() and "Zuiderzon" not in page.content()

    # The colleague accepts the mailed invitation without a password, and later logs in with an
    # e-mailed link: both in their own browser.
    colleague = browser.new_context(base_url=live_url, locale="nl-NL")
    colleague_page = colleague.new_page()
    (invitation_mail,) = mails_to("collega@noorderlicht.nl")
    colleague_page.goto(link_in_mail(invitation_mail, "/invitations/"))
    colleague_page.get_by_label("Voornaam").fill("Carla")
    colleague_page.get_by_label("Achternaam").fill("Collega")
    colleague_page.get_by_role("button", name="Uitnodiging accepteren").click()
    colleague_page.wait_for_url(f"**/nl/organisations/{ours.pk}/")
    assert "Welkom! U bent nu lid van Zorggroep Noorderlicht." in colleague_page.content()
    colleague.close()
    assert Membership.objects.filter(
        organisation=ours, user__email="collega@noorderlicht.nl"
    ).exists()

    later = browser.new_context(base_url=live_url, locale="nl-NL")
    later_page = later.new_page()
    later_page.goto("/nl/account/login/")
    later_page.get_by_role("link", name="E-mail mij een inloglink").click()
    later_page.get_by_label("E-mailadres").fill("collega@noorderlicht.nl")
    later_page.get_by_role("button", name="Stuur de inloglink").click()
    later_page.wait_for_url("**/nl/account/login/link/sent/")
    login_mail = next(m for m in mails_to("collega@noorderlicht.nl") if "/login/link/" in m.body)
    later_page.goto(link_in_mail(login_mail, "/login/link/"))
    later_page.get_by_role("button", name="Inloggen").click()
    later_page.wait_for_url(f"**/nl/organisations/{ours.pk}/")
    assert "Dirk Visser" in later_page.locator("main").inner_text()
    assert "Zeger" not in later_page.content()
    later.close()


# --- 5. Check-in at the door -------------------------------------------------------------------


def test_check_in_staff_admits_a_ticket_once(page):
    event = EventFactory(
        title="Congres Gezond Werken", starts_at=timezone.now() + timedelta(hours=1)
    )
    other_event = EventFactory(title="Ander congres")
    ticket = TicketFactory(registration__event=event, person=PersonFactory(name="Sanne Visser"))
    staff = UserFactory(email="balie@werkstress.example.nl", password=PASSWORD)
    role = OrganiserRole.objects.create(user=staff, role=OrganiserRole.Role.CHECKIN_STAFF)
    role.events.add(event)

    log_in(page, "balie@werkstress.example.nl", PASSWORD)
    page.goto(f"/nl/events/{event.pk}/checkin/")
    assert "0 van 1" in page.locator("main").inner_text()
    page.get_by_label("Ticketcode").fill(f"  {ticket.secret} ")
    page.get_by_role("button", name="Inchecken").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith("Welkom, Sanne Visser!")
    assert "1 van 1" in page.locator("main").inner_text()
    assert_no_page_problems(page)
    ticket.refresh_from_db()
    first = ticket.checked_in_at
    assert first is not None

    page.get_by_label("Ticketcode").fill(ticket.secret)
    page.get_by_label("Ticketcode").press("Enter")
    page.wait_for_load_state()
    refusal = page.get_by_role("alert").inner_text()
    assert "Geweigerd" in refusal
    # The time of the first check-in, in Amsterdam time (with the date if that was another day).
    assert "Al ingecheckt om " in refusal
    assert f"{first.astimezone(AMSTERDAM):%H:%M:%S}." in refusal
    ticket.refresh_from_db()
    assert ticket.checked_in_at == first  # the second scan changed nothing

    # The role covers this event only.
    assert page.goto(f"/nl/events/{other_event.pk}/checkin/").status == 403


# --- Without JavaScript ------------------------------------------------------------------------


def test_sign_up_and_booking_work_without_javascript(browser, live_url, congress):
    week = CampaignWeekFactory(title="Week van de Werkstress 2031", slug="week-2031")
    context = browser.new_context(base_url=live_url, locale="nl-NL", java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()

    page.goto(f"/nl/events/{week.slug}/sign-up/")
    fill_sign_up(page, kvk="87654321", name="Gemeente Zonnedal", email="po@zonnedal.nl")
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url("**/nl/sign-up/*/confirmation/")
    assert page.get_by_role("heading", level=1).inner_text() == "Bedankt voor uw aanmelding"
    assert CampaignParticipation.objects.get().organisation.name == "Gemeente Zonnedal"

    page.goto(f"/nl/events/{congress.slug}/book/")
    # Without the script the payment choice is always shown (the server ignores it when free).
    assert page.locator("#payment-section").is_visible()
    page.fill("#id_booker_name", "Paula Personeelszaken")
    page.fill("#id_booker_email", "paula@zonnedal.nl")
    fill_attendee(page, 0, ATTENDEES[0])
    page.get_by_role("button", name="Nog een deelnemer toevoegen").click()
    page.locator("#attendee-2").wait_for()
    assert page.input_value("#id_attendees-0-email") == ATTENDEES[0][1]  # kept by the server
    fill_attendee(page, 1, ATTENDEES[1])
    page.get_by_role("button", name="Nu boeken").click()
    page.wait_for_url(BOOKING_DONE)
    assert page.get_by_role("heading", level=1).inner_text() == "Bedankt voor uw boeking"
    registration = Registration.objects.get()
    assert registration.status == Registration.Status.CONFIRMED
    assert sorted(registration.tickets.values_list("person__name", flat=True)) == [
        "Ans de Vries",
        "Bram Jansen",
    ]
    context.close()
