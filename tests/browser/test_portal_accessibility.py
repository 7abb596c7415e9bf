"""axe-core (WCAG 2.1 A/AA, serious and critical) on every page of the organisation portal and
its login pages, the personal signed-link pages and the check-in page, in Dutch and English,
including the states a person meets on the way: form errors, a refused check-in, an open
invitation. Pages are reached the way a user reaches them (login form, links from mail), and
each must also load without a console error or a failed request.

All pages of one language run in one test (a live-server test ends with a flush of every table,
which costs more than the page visits) and failures are collected per page, not stopped at the
first, so one run shows everything that is wrong.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from events.models import Event
from organisations.models import Membership
from participants import links, services
from tests.browser.helpers import (
    PageProblems,
    assert_no_serious_axe_violations,
    link_in_mail,
    log_in,
    mails_to,
)
from tests.factories import (
    EventFactory,
    MembershipFactory,
    OrganisationFactory,
    TicketTypeFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "werkstress-test-wachtwoord"
TEXT = {
    "nl": {
        "magic": "E-mail mij een inloglink",
        "send_magic": "Stuur de inloglink",
        "forgot": "Wachtwoord vergeten?",
        "send_reset": "Stuur de link",
        "invite": "Uitnodiging versturen",
        "check_in": "Inchecken",
        "save": "Opslaan",
    },
    "en": {
        "magic": "E-mail me a login link",
        "send_magic": "Send the login link",
        "forgot": "Forgot your password?",
        "send_reset": "Send the link",
        "invite": "Send invitation",
        "check_in": "Check in",
        "save": "Save",
    },
}


@pytest.fixture
def portal(db, lang):
    """The people here read their mail in `lang`, so the links in it lead to pages in `lang`."""
    event = EventFactory(
        title="Congres Gezond Werken",
        slug="congres",
        capacity=2,
        cancellation_deadline=timezone.now() + timedelta(days=20),
    )
    standard = TicketTypeFactory(event=event, name="Standaard", price_cents=0)
    ours = OrganisationFactory(name="Zorggroep Noorderlicht")
    other = OrganisationFactory(name="Stichting Zonnedal")
    admin = UserFactory(
        email="hr@noorderlicht.nl", first_name="Fatima", last_name="el Amrani", password=PASSWORD
    )
    MembershipFactory(organisation=ours, user=admin, role=Membership.Role.ADMIN)
    # A second organisation makes the portal start page a choice instead of a redirect.
    MembershipFactory(organisation=other, user=admin, role=Membership.Role.MEMBER)
    MembershipFactory(
        organisation=ours, user=UserFactory(email="collega@noorderlicht.nl", first_name="Carla")
    )
    booking = services.registration_create(
        event=event,
        organisation=ours,
        booker_name="Fatima el Amrani",
        booker_email="hr@noorderlicht.nl",
        language=lang,
        attendees=[
            services.AttendeeInput(
                name="Ans de Vries", email="ans@noorderlicht.nl", ticket_type_id=standard.pk
            ),
            services.AttendeeInput(
                name="Bram Jansen", email="bram@noorderlicht.nl", ticket_type_id=standard.pk
            ),
        ],
    )
    # The event is full, so Wim waits; Bram cancels below and Wim gets an offer.
    waiting = services.waitlist_join(
        event=event, ticket_type=standard, name="Wim Wachter", email="wim@example.nl", language=lang
    )
    return {"event": event, "ours": ours, "booking": booking, "waiting": waiting}


def _page(context):
    page = context.new_page()
    page.problems = PageProblems()
    page.problems.attach(page)
    return page


class Scan:
    """Visit pages one after another, scanning each; failures are collected, not raised."""

    def __init__(self, page, lang: str):
        self.page, self.lang, self.failures = page, lang, {}

    def __call__(self, name: str, *, path: str | None = None, expect_status: int = 200) -> None:
        page, errors = self.page, []
        if path is not None:
            page.problems.clear()
            status = page.goto(path).status
            if status != expect_status:
                errors.append(f"HTTP {status}, expected {expect_status}")
        if page.locator("html").get_attribute("lang") != self.lang:
            errors.append(f"html lang is not {self.lang}")
        if page.get_by_role("heading", level=1).count() != 1:
            errors.append("not exactly one h1")
        # A page that answers 4xx on purpose reports its own status (as a failed response and
        # a console line); everything else it loads must be clean.
        own = f"{page.url.split('#')[0]}"
        errors += [
            p
            for p in page.problems
            if expect_status == 200 or not (p.endswith(f" {own}") or p.endswith(f"({own})"))
        ]
        try:
            assert_no_serious_axe_violations(page)
        except AssertionError as error:
            errors.append(str(error))
        if errors:
            self.failures[f"{name} ({page.url})"] = "\n".join(errors)
        page.problems.clear()

    def check(self) -> None:
        assert not self.failures, "\n\n".join(f"{n}: {e}" for n, e in self.failures.items())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_portal_and_account_pages_pass_axe(browser, live_url, portal, lang):
    text = TEXT[lang]
    ours, booking = portal["ours"], portal["booking"]
    context = browser.new_context(
        base_url=live_url,
        locale={"nl": "nl-NL", "en": "en-GB"}[lang],
        timezone_id="Europe/Amsterdam",
    )
    context.set_default_timeout(10_000)
    page = _page(context)
    scan = Scan(page, lang)

    # --- Logged out: login, login link, password reset ---
    scan("login", path=f"/{lang}/account/login/")
    page.fill("#id_username", "hr@noorderlicht.nl")
    page.fill("#id_password", "wrong password")
    page.locator("form[action$='/account/login/'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#form-errors").is_visible()
    scan("login with an error")

    page.get_by_role("link", name=text["magic"]).click()
    scan("login link request")
    page.locator("#id_email").fill("not an address")
    page.get_by_role("button", name=text["send_magic"]).click()
    page.wait_for_load_state()
    assert page.locator("#id_email_error").is_visible()
    scan("login link request with an error")
    page.locator("#id_email").fill("collega@noorderlicht.nl")
    page.get_by_role("button", name=text["send_magic"]).click()
    page.wait_for_url(f"**/{lang}/account/login/link/sent/")
    scan("login link sent")
    magic = next(m for m in mails_to("collega@noorderlicht.nl") if "/login/link/" in m.body)
    scan("login link confirmation", path=link_in_mail(magic, "/login/link/"))
    scan("login link used up", path=f"/{lang}/account/login/link/not-a-token/", expect_status=400)

    page.goto(f"/{lang}/account/login/")
    page.get_by_role("link", name=text["forgot"]).click()
    scan("password reset request")
    page.locator("#id_email").fill("hr@noorderlicht.nl")
    page.get_by_role("button", name=text["send_reset"]).click()
    page.wait_for_url(f"**/{lang}/account/password/reset/sent/")
    scan("password reset sent")
    reset = next(m for m in mails_to("hr@noorderlicht.nl") if "/password/reset/" in m.body)
    page.goto(link_in_mail(reset, "/password/reset/"))
    assert page.locator("input[type=password]").count() == 2
    scan("password reset: choose a new password")
    page.locator("main form button[type=submit]").click()  # empty: errors
    page.wait_for_load_state()
    assert page.locator("#form-errors").is_visible()
    scan("password reset with errors")

    # --- Logged in as the organisation's administrator ---
    log_in(page, "hr@noorderlicht.nl", PASSWORD, lang=lang)
    page.wait_for_url(f"**/{lang}/organisations/")
    scan("portal: choose an organisation")
    base = f"/{lang}/organisations/{ours.pk}"
    scan("dashboard with bookings", path=f"{base}/")
    scan("booking detail", path=f"{base}/bookings/{booking.pk}/")
    ans = booking.tickets.get(person__name="Ans de Vries")
    bram = booking.tickets.get(person__name="Bram Jansen")
    scan("attendee change or swap", path=f"{base}/tickets/{ans.pk}/change/")
    page.get_by_label("E-mail", exact=False).first.fill("geen adres")
    page.get_by_role("button", name=text["save"]).click()
    page.wait_for_load_state()
    assert page.locator("#id_email_error").is_visible()
    scan("attendee change with an error", expect_status=400)
    scan("attendee add", path=f"{base}/bookings/{booking.pk}/attendees/add/")
    scan("ticket cancel", path=f"{base}/tickets/{bram.pk}/cancel/")
    scan("members", path=f"{base}/members/")
    page.locator("#id_email").fill("nieuw@noorderlicht.nl")
    page.get_by_role("button", name=text["invite"]).click()
    page.wait_for_url(f"**{base}/members/")
    scan("members with an open invitation")
    page.locator("#id_email").fill("geen adres")
    page.get_by_role("button", name=text["invite"]).click()
    page.wait_for_load_state()
    assert page.locator("#id_email_error").is_visible()
    scan("members: invitation with an error", expect_status=400)
    scan("API keys", path=f"{base}/api-keys/")
    invitation = mails_to("nieuw@noorderlicht.nl")[0]
    scan("invitation: create an account to accept", path=link_in_mail(invitation, "/invitations/"))

    # --- Personal signed links from the mail (no login needed) ---
    booking_mail = next(m for m in mails_to("hr@noorderlicht.nl") if "/booking/" in m.body)
    scan("booking manage (signed link)", path=link_in_mail(booking_mail, "/booking/"))
    scan("ticket manage (signed link)", path=f"/{lang}/ticket/{links.ticket_token(bram)}/")
    scan("ticket cancel (signed link)", path=f"/{lang}/ticket/{links.ticket_token(bram)}/cancel/")
    services.ticket_cancel(ticket=bram, actor="attendee")
    scan("cancelled ticket (signed link)", path=f"/{lang}/ticket/{links.ticket_token(bram)}/")
    offer = next(m for m in mails_to("wim@example.nl") if "/waiting-list/" in m.body)
    scan("waiting-list offer (signed link)", path=link_in_mail(offer, "/waiting-list/"))
    scan("tampered link", path=f"/{lang}/ticket/tampered/", expect_status=404)
    context.close()

    # --- The check-in page of an organiser, with a success and a refusal ---
    # Check-in is open only around the event itself: the congress starts within the hour.
    now = timezone.now()
    Event.objects.filter(pk=portal["event"].pk).update(
        starts_at=now + timedelta(minutes=30), ends_at=now + timedelta(hours=4)
    )
    staff = UserFactory(email="balie@werkstress.example.nl", is_staff=True)
    client = Client()
    client.force_login(staff)
    organiser = browser.new_context(
        base_url=live_url,
        locale={"nl": "nl-NL", "en": "en-GB"}[lang],
        timezone_id="Europe/Amsterdam",
    )
    organiser.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_url}]
    )
    page = _page(organiser)
    scan.page = page
    scan("check-in", path=f"/{lang}/events/{portal['event'].pk}/checkin/")
    for expected_status in (200, 409):
        page.locator("#id_secret").fill(ans.secret)
        page.get_by_role("button", name=text["check_in"]).click()
        page.wait_for_load_state()
        assert page.locator("#checkin-result").is_visible()
        scan(f"check-in answered {expected_status}", expect_status=expected_status)
    organiser.close()
    scan.check()


@pytest.mark.django_db(transaction=False)  # no live server needed: cheaper than a flush
def test_scan_collects_violations_and_problems_instead_of_passing(browser):
    """The collecting scanner above must fail when a page breaks a rule, or the scans could pass
    without looking: a page with an unlabelled field and a script error."""
    page = _page(browser.new_context())
    page.set_content(
        '<!DOCTYPE html><html lang="nl"><head><title>t</title></head><body><main>'
        '<h1>Kop</h1><form><input type="text" name="x"></form></main></body></html>'
    )
    page.evaluate("setTimeout(() => { throw new Error('kapot'); })")
    page.wait_for_timeout(50)
    scan = Scan(page, "nl")
    scan("broken page")
    with pytest.raises(AssertionError) as failure:
        scan.check()
    assert "label" in str(failure.value)  # axe-core's verdict
    assert "script error: kapot" in str(failure.value)  # the console, in the same report
    page.context.close()
