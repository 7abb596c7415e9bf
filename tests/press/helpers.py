"""Press test data: built through the services where the rules live."""

import datetime as dt
import io
import re
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from communications.models import OutboxMail
from communications.sending import render_mail
from organisations.models import Organisation
from participants.models import Person
from press import services
from press.models import Journalist, Spokesperson
from tests.factories import CampaignFactory

_n = [0]


def _next() -> int:
    _n[0] += 1
    return _n[0]


def outlet(name: str | None = None) -> Organisation:
    return Organisation.objects.create(
        kind=Organisation.Kind.MEDIA_OUTLET, name=name or f"Dagblad {_next()}"
    )


def journalist(**kwargs) -> Journalist:
    n = _next()
    defaults = dict(
        name=f"Journalist {n}",
        email=f"journalist{n}@krant.example.nl",
        outlet=kwargs.pop("outlet", None) or outlet(),
        media_type=Journalist.MediaType.NATIONAL,
        legal_basis=Journalist.LegalBasis.CONSENT,
        agreed_on=dt.date(2026, 1, 15),
        topics="werkstress, burn-out",
    )
    defaults.update(kwargs)
    return services.journalist_add(**defaults)


def spokesperson(role=Spokesperson.Role.EXPERT_BY_EXPERIENCE) -> Spokesperson:
    n = _next()
    person = Person.objects.create(name=f"Woordvoerder {n}", email=f"spreker{n}@example.nl")
    return Spokesperson.objects.create(person=person, role=role)


def moment(*, embargo_until=None, starts_in=timedelta(days=10), **kwargs):
    starts = timezone.now() + starts_in
    return services.media_moment_create(
        campaign=kwargs.pop("campaign", None) or CampaignFactory(),
        title=kwargs.pop("title", f"Persconferentie {_next()}"),
        sub_kind=kwargs.pop("sub_kind", "press_conference"),
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        venue_name="Ministerie SZW",
        venue_address="Parnassusplein 5, Den Haag",
        embargo_until=embargo_until,
        **kwargs,
    )


def invite(m, j, user=None):
    [inv] = services.press_invitations_send(moment=m, journalists=[j], user=user)
    return inv


def pdf_upload(name: str = "persbericht.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n% press release\n%%EOF\n", "application/pdf")


def png_upload(name: str = "foto.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "image/png")


def docx_upload(name: str = "factsheet.docx") -> SimpleUploadedFile:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return SimpleUploadedFile(name, buf.getvalue())


def mails(template: str | None = None, to: str | None = None) -> list[OutboxMail]:
    qs = OutboxMail.objects.order_by("pk")
    if template:
        qs = qs.filter(template=template)
    if to:
        qs = qs.filter(to_email=to)
    return list(qs)


def rendered(mail: OutboxMail):
    return render_mail(mail)


def ics_of(mail: OutboxMail) -> Calendar:
    """The mail's .ics as the sender attaches it (a personal invite to the mail's addressee)."""
    from communications.sending import render_parts

    [spec] = [a for a in mail.attachments if a["type"] == "ics"]
    assert spec.get("attendee") == "recipient"
    [(_name, content, mimetype)] = [
        a for a in render_parts(mail, attachments=True).attachments if a[0].endswith(".ics")
    ]
    cal = Calendar.from_ical(content)
    assert mimetype == f"text/calendar; charset=utf-8; method={cal['METHOD']}"
    if str(cal["METHOD"]) != "PUBLISH":
        [event] = [c for c in cal.walk() if c.name == "VEVENT"]
        assert str(event["ATTENDEE"]).lower() == f"mailto:{mail.to_email}".lower()
    return cal


def vevent(cal: Calendar):
    [event] = [c for c in cal.walk() if c.name == "VEVENT"]
    return event


def invite_on_page(client, moment_, journalists, **extra):
    """The organiser's two steps on the invite page: tick `journalists` (the confirmation page
    lists them, nothing is queued), then confirm. Returns (confirmation page, confirm response)."""
    url = reverse("press:staff_invite", kwargs={"pk": moment_.pk})
    review = client.post(
        url, {"step": "review", "journalist": [j.pk for j in journalists]}, **extra
    )
    assert review.status_code == 200, review.status_code
    token = selection_token(review.content.decode())
    return review, client.post(url, {"step": "confirm", "selection": token}, **extra)


def selection_token(page: str) -> str:
    """The signed selection the confirmation page's confirm button sends."""
    match = re.search(r'name="selection" value="([^"]+)"', page)
    assert match, "no confirm button with a selection on the page"
    return match.group(1)
