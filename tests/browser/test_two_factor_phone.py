"""Check-in staff with nothing but a phone: where two-factor is required (production), the
check-in link leads through the login and the set-up to the check-in page, all on a phone-sized
screen, and a ticket is then checked in."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import OrganiserRole
from tests.browser.helpers import (
    PageProblems,
    assert_no_page_problems,
    assert_no_serious_axe_violations,
)
from tests.factories import EventFactory, PersonFactory, TicketFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "werkstress-test-wachtwoord"


@pytest.fixture
def phone(browser, live_url):
    context = browser.new_context(
        base_url=live_url,
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = PageProblems()
    page.problems.attach(page)
    yield page
    context.close()


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_check_in_staff_set_up_two_factor_and_check_in_on_a_phone(phone, settings):
    settings.OTP_REQUIRED_FOR_ORGANISERS = True
    event = EventFactory(
        title="Congres Gezond Werken", starts_at=timezone.now() + timedelta(hours=1)
    )
    ticket = TicketFactory(registration__event=event, person=PersonFactory(name="Sanne Visser"))
    staff = UserFactory(email="deur@werkstress.example.nl", password=PASSWORD)
    OrganiserRole.objects.create(user=staff, role=OrganiserRole.Role.CHECKIN_STAFF).events.add(
        event
    )
    checkin = f"/nl/events/{event.pk}/checkin/"

    # The link at the door leads to the login page, which leads back to it afterwards.
    phone.goto(checkin)
    assert "/account/login/" in phone.url
    phone.fill("#id_username", staff.email)
    phone.fill("#id_password", PASSWORD)
    phone.locator("form[action$='/account/login/'] button[type=submit]").click()
    phone.wait_for_load_state()
    # Not the check-in page yet: the set-up, fitting the phone's screen.
    assert "/account/two-factor/setup/" in phone.url
    assert fits_the_screen(phone)
    assert_no_serious_axe_violations(phone)
    add_key = phone.get_by_role("link", name="Op deze telefoon: voeg de sleutel toe")
    assert add_key.get_attribute("href").startswith("otpauth://totp/")
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    phone.get_by_label("Code van 6 cijfers").fill(f"{code:06d}")
    phone.get_by_role("button", name="Tweestapsverificatie aanzetten").click()
    phone.wait_for_load_state()
    assert fits_the_screen(phone)
    phone.get_by_role("link", name="Doorgaan").click()
    phone.wait_for_load_state()

    assert phone.url.endswith(checkin)
    assert fits_the_screen(phone)
    phone.get_by_label("Ticketcode").fill(ticket.secret)
    phone.get_by_role("button", name="Inchecken").click()
    phone.wait_for_load_state()
    assert phone.get_by_role("status").inner_text().startswith("Welkom, Sanne Visser!")
    assert fits_the_screen(phone)
    assert_no_page_problems(phone)
    ticket.refresh_from_db()
    assert ticket.checked_in_at is not None
