"""A realistic demo data set. Running it again updates the same rows instead of adding more."""

import os
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from events.models import Campaign, Event, Question, TicketType
from organisations.models import Membership, Organisation, Region
from participants.models import CampaignParticipation, Person

AMS = ZoneInfo("Europe/Amsterdam")

# name, KvK, region code, sector, size band, street, postcode, city
EMPLOYERS = [
    (
        "Zorggroep Noorderlicht",
        "90000011",
        "01",
        "care",
        "1000+",
        "Hereweg 12",
        "9725 AG",
        "Groningen",
    ),
    (
        "Friese Bouwcombinatie",
        "90000022",
        "02",
        "construction",
        "50-249",
        "Tesselschadestraat 4",
        "8913 HB",
        "Leeuwarden",
    ),
    (
        "Drentse Transport BV",
        "90000033",
        "03",
        "transport",
        "50-249",
        "Industrieweg 8",
        "9402 NP",
        "Assen",
    ),
    (
        "Gemeente Zwolle",
        "90000044",
        "04",
        "government",
        "1000+",
        "Grote Kerkplein 14",
        "8011 PK",
        "Zwolle",
    ),
    (
        "Twentse Textielfabriek",
        "90000055",
        "06",
        "industry",
        "250-999",
        "Hengelosestraat 500",
        "7521 AN",
        "Enschede",
    ),
    (
        "Ziekenhuis Rijnstate Demo",
        "90000066",
        "08",
        "care",
        "1000+",
        "Wagnerlaan 55",
        "6815 AD",
        "Arnhem",
    ),
    (
        "Nijmeegse Kinderopvang",
        "90000077",
        "09",
        "care",
        "50-249",
        "Graafseweg 20",
        "6512 BT",
        "Nijmegen",
    ),
    (
        "FoodValley Innovatie",
        "90000088",
        "10",
        "agriculture",
        "10-49",
        "Nieuwe Kanaal 7",
        "6709 PA",
        "Wageningen",
    ),
    (
        "Utrechtse Software Coop",
        "90000099",
        "12",
        "ict",
        "10-49",
        "Catharijnesingel 30",
        "3511 GB",
        "Utrecht",
    ),
    (
        "Amersfoortse Verzekeringen",
        "90000101",
        "13",
        "finance",
        "1000+",
        "Stadsring 2",
        "3811 HN",
        "Amersfoort",
    ),
    (
        "Almere Logistiek",
        "90000112",
        "14",
        "transport",
        "250-999",
        "Transportweg 15",
        "1332 AA",
        "Almere",
    ),
    (
        "Amsterdamse Hotelgroep",
        "90000123",
        "16",
        "hospitality",
        "250-999",
        "Damrak 1",
        "1012 LG",
        "Amsterdam",
    ),
    (
        "Haarlemse Uitgeverij",
        "90000134",
        "19",
        "culture",
        "10-49",
        "Grote Markt 2",
        "2011 RD",
        "Haarlem",
    ),
    (
        "Leidse Onderwijsgroep",
        "90000145",
        "20",
        "education",
        "250-999",
        "Rapenburg 70",
        "2311 EZ",
        "Leiden",
    ),
    (
        "Haagse Adviespartners",
        "90000156",
        "21",
        "business_services",
        "50-249",
        "Spui 70",
        "2511 BT",
        "Den Haag",
    ),
    (
        "Rotterdamse Haven Services",
        "90000167",
        "23",
        "transport",
        "1000+",
        "Wilhelminakade 909",
        "3072 AP",
        "Rotterdam",
    ),
    ("Zeeuwse Zorgboerderij", "90000178", "26", "care", "1-9", "Markt 1", "4331 LJ", "Middelburg"),
    (
        "Brabantse Winkelketen",
        "90000189",
        "28",
        "retail",
        "1000+",
        "Heuvel 1",
        "5038 CS",
        "Tilburg",
    ),
    (
        "Eindhovense Techniek",
        "90000190",
        "30",
        "industry",
        "250-999",
        "Stationsplein 17",
        "5611 AC",
        "Eindhoven",
    ),
    (
        "Maastrichtse Thuiszorg",
        "90000201",
        "34",
        "care",
        "250-999",
        "Markt 78",
        "6211 CN",
        "Maastricht",
    ),
]
SCHOOLS = [
    ("Noorderpoort College Demo", "01AA", "01", "Hereweg 95", "9721 AA", "Groningen"),
    ("Stedelijk Gymnasium Demo", "02BB", "12", "Homeruslaan 46", "3581 MH", "Utrecht"),
    ("Vmbo De Brug Demo", "03CC", "23", "Schiedamseweg 50", "3025 AE", "Rotterdam"),
    ("Scholengemeenschap Zuid Demo", "04DD", "30", "Kruisstraat 100", "5612 CM", "Eindhoven"),
    ("Lyceum aan Zee Demo", "05EE", "19", "Zeeweg 1", "1971 HA", "IJmuiden"),
]
OUTLETS = [
    ("Omroep Demo Nationaal", "90000212", "16", "Mediapark 1", "1217 WE", "Hilversum"),
    ("Dagblad van het Noorden Demo", "90000223", "01", "Lubeckweg 2", "9723 HE", "Groningen"),
    ("Vakblad Arbo Demo", "90000234", "12", "Europalaan 40", "3526 KS", "Utrecht"),
]
JOURNALISTS = [
    ("Sanne de Vries", "sanne.devries@omroep-demo.nl", 0),
    ("Bram Jansen", "bram.jansen@omroep-demo.nl", 0),
    ("Fatima El Amrani", "fatima@dvhn-demo.nl", 1),
    ("Pieter Bakker", "pieter@dvhn-demo.nl", 1),
    ("Linda Visser", "linda@vakblad-arbo-demo.nl", 2),
]
AMBASSADORS = [
    ("Yusuf Demir", "yusuf.demir@ambassadeur-demo.nl"),
    ("Eva Mulder", "eva.mulder@ambassadeur-demo.nl"),
    ("Kees de Boer", "kees.deboer@ambassadeur-demo.nl"),
]


def aware(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


class Command(BaseCommand):
    help = "Load the demo data set (Week van de Werkstress 2026 and friends). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", "werkstress-demo"),
            help="Password for the demo logins (only for local demos).",
        )

    @transaction.atomic
    def handle(self, *args, password: str, **options):
        User = get_user_model()
        regions = {r.code: r for r in Region.objects.all()}

        organiser, _ = User.objects.update_or_create(
            email="organisator@werkstress.example.nl",
            defaults={
                "first_name": "Olga",
                "last_name": "Organisator",
                "is_staff": True,
                "is_superuser": True,
            },
        )
        organiser.set_password(password)
        organiser.save()

        week_campaign, _ = Campaign.objects.update_or_create(
            slug="check-je-werkstress",
            defaults={
                "name": "Check je Werkstress",
                "description": "De landelijke campagne over werkstress, met de jaarlijkse "
                "Week van de Werkstress in november.",
            },
        )
        ik_zorg, _ = Campaign.objects.update_or_create(
            slug="ik-zorg",
            defaults={
                "name": "Ik Zorg",
                "description": "Ambassadeurs uit zorg en welzijn vertellen op scholen "
                "over hun werk.",
            },
        )

        week, _ = Event.objects.update_or_create(
            slug="week-van-de-werkstress-2026",
            defaults={
                "campaign": week_campaign,
                "kind": Event.Kind.CAMPAIGN_WEEK,
                "title": "Week van de Werkstress 2026",
                "description": "Van 16 tot en met 20 november 2026 staat werkstress centraal. "
                "Meld uw organisatie aan en organiseer activiteiten voor uw medewerkers.",
                "starts_at": aware(2026, 11, 16, 9, 0),
                "ends_at": aware(2026, 11, 20, 17, 0),
                "registration_opens_at": aware(2026, 6, 1, 9, 0),
                "registration_closes_at": aware(2026, 11, 20, 12, 0),
                "status": Event.Status.PUBLISHED,
                "capacity": None,
            },
        )
        congress, _ = Event.objects.update_or_create(
            slug="congres-gezond-werk-2027",
            defaults={
                "campaign": week_campaign,
                "kind": Event.Kind.CONGRESS,
                "title": "Congres Gezond Werk 2027",
                "description": "Een dag over preventie van werkstress, met keynotes, workshops en "
                "ervaringsdeskundigen. Voor HR, leidinggevenden en preventiemedewerkers.",
                "starts_at": aware(2027, 3, 11, 9, 30),
                "ends_at": aware(2027, 3, 11, 17, 0),
                "venue_name": "Beatrix Theater",
                "venue_address": "Catharijnesingel 1, 3511 GB Utrecht",
                "capacity": 300,
                "registration_opens_at": aware(2026, 10, 1, 9, 0),
                "registration_closes_at": aware(2027, 3, 9, 23, 59),
                "cancellation_deadline": aware(2027, 3, 4, 23, 59),
                "status": Event.Status.PUBLISHED,
            },
        )
        TicketType.objects.update_or_create(
            event=congress,
            name="Gratis (publieke sector)",
            defaults={
                "price_cents": 0,
                "vat_rate": "0.00",
                "position": 0,
                "description": "Voor medewerkers van overheid en onderwijs.",
            },
        )
        TicketType.objects.update_or_create(
            event=congress,
            name="Regulier",
            defaults={
                "price_cents": 14900,
                "vat_rate": "21.00",
                "position": 1,
                "description": "Inclusief lunch en congresmap.",
            },
        )
        Question.objects.update_or_create(
            event=congress,
            label="Dieetwensen",
            defaults={"kind": "text", "required": False, "position": 0},
        )
        Question.objects.update_or_create(
            event=congress,
            label="Welke workshopronde heeft uw voorkeur?",
            defaults={
                "kind": "choice",
                "choices": "Ochtend\nMiddag",
                "required": True,
                "position": 1,
            },
        )
        webinar, _ = Event.objects.update_or_create(
            slug="webinar-werkdruk-in-de-zorg-2027",
            defaults={
                "campaign": ik_zorg,
                "kind": Event.Kind.WEBINAR,
                "title": "Online werkbezoek: werkdruk in de zorg",
                "description": "Kijk een ochtend mee op een verpleegafdeling.",
                "starts_at": aware(2027, 1, 20, 10, 0),
                "ends_at": aware(2027, 1, 20, 11, 30),
                "online_url": "https://webinar.example.nl/werkdruk-zorg",
                "capacity": 500,
                "status": Event.Status.PUBLISHED,
            },
        )
        TicketType.objects.update_or_create(
            event=webinar, name="Deelname", defaults={"price_cents": 0}
        )

        employers = []
        for name, kvk, region, sector, size, street, postcode, city in EMPLOYERS:
            org, _ = Organisation.objects.update_or_create(
                kvk_number=kvk,
                defaults={
                    "kind": Organisation.Kind.EMPLOYER,
                    "name": name,
                    "region": regions[region],
                    "sector": sector,
                    "size_band": size,
                    "street": street,
                    "postcode": postcode,
                    "city": city,
                    "listed_publicly": True,
                },
            )
            employers.append(org)
        for name, brin, region, street, postcode, city in SCHOOLS:
            Organisation.objects.update_or_create(
                brin_code=brin,
                defaults={
                    "kind": Organisation.Kind.SCHOOL,
                    "name": name,
                    "region": regions[region],
                    "sector": "education",
                    "street": street,
                    "postcode": postcode,
                    "city": city,
                },
            )
        outlets = []
        for name, kvk, region, street, postcode, city in OUTLETS:
            org, _ = Organisation.objects.update_or_create(
                kvk_number=kvk,
                defaults={
                    "kind": Organisation.Kind.MEDIA_OUTLET,
                    "name": name,
                    "region": regions[region],
                    "sector": "culture",
                    "street": street,
                    "postcode": postcode,
                    "city": city,
                },
            )
            outlets.append(org)
        journalist_people = [
            Person.objects.update_or_create(
                email=email, defaults={"name": name, "organisation": outlets[outlet]}
            )[0]
            for name, email, outlet in JOURNALISTS
        ]
        self._press(journalist_people, week_campaign)
        ambassador_people = [
            Person.objects.update_or_create(email=email, defaults={"name": name})[0]
            for name, email in AMBASSADORS
        ]
        self._schools(ambassador_people, regions, ik_zorg)

        # The first ten employers took part in the week; the first one has a portal login.
        for index, org in enumerate(employers[:10]):
            contact, _ = Person.objects.update_or_create(
                email=f"hr@{org.kvk_number}.demo.nl",
                defaults={"name": f"HR-contact {org.name}", "organisation": org},
            )
            CampaignParticipation.objects.update_or_create(
                event=week,
                organisation=org,
                defaults={
                    "contact": contact,
                    "activities": ["workshop", "self_test"],
                    "activities_description": "Lunchlezing en werkstress-scan voor alle teams.",
                    "employees_reached": 40 + index * 25,
                    "status": CampaignParticipation.Status.CONFIRMED,
                },
            )
        member, _ = User.objects.update_or_create(
            email="hr@zorggroep-noorderlicht.example.nl",
            defaults={"first_name": "Henk", "last_name": "Hendriks"},
        )
        member.set_password(password)
        member.save()
        Membership.objects.update_or_create(
            user=member, organisation=employers[0], defaults={"role": Membership.Role.ADMIN}
        )

        self._report(organiser, password)

    def _schools(self, people, regions, campaign) -> None:
        """Ik Zorg: the three ambassadors with profiles and availability, one open request."""
        from schools.models import (
            Ambassador,
            AvailabilityWindow,
            PreferredSlot,
            SchoolSessionRequest,
            WorkField,
        )

        profiles = [
            # work field, home regions, weekday (0 = Monday), max per month
            ("ziekenhuizen", ["12", "23"], 1, 2),
            ("ggz", ["01"], 3, 3),
            ("jeugdzorg", ["30", "12"], 1, 1),
        ]
        for person, (field, codes, weekday, per_month) in zip(people, profiles, strict=True):
            ambassador, _ = Ambassador.objects.update_or_create(
                person=person,
                defaults={
                    "work_field": WorkField.objects.get(slug=field),
                    "max_sessions_per_month": per_month,
                    "max_travel_km": 40,
                    "trainings": "Basistraining ambassadeur Ik Zorg\nVoorlichting in de klas",
                },
            )
            ambassador.regions.set([regions[code] for code in codes])
            AvailabilityWindow.objects.get_or_create(
                ambassador=ambassador,
                weekday=weekday,
                date=None,
                defaults={"start_time": time(8, 30), "end_time": time(15, 0)},
            )
        school = Organisation.objects.get(brin_code="02BB")
        contact, _ = Person.objects.update_or_create(
            email="decaan@02bb.demo.nl",
            defaults={"name": "Decaan Stedelijk Gymnasium", "organisation": school},
        )
        # client_key makes the demo request findable on a second run (idempotent seed).
        request, created = SchoolSessionRequest.objects.get_or_create(
            client_key="seed-demo-request",
            defaults={
                "school": school,
                "campaign": campaign,
                "contact": contact,
                "education_level": "vwo",
                "pupils": 56,
                "classes": 2,
                "work_field": WorkField.objects.get(slug="ziekenhuizen"),
                "wishes": "Liefst iemand die over de spoedeisende hulp kan vertellen.",
            },
        )
        if created:
            for position, (day, start, end) in enumerate(
                [
                    (date(2027, 2, 9), time(10, 0), time(11, 30)),
                    (date(2027, 2, 11), time(13, 0), time(14, 30)),
                ]
            ):
                PreferredSlot.objects.create(
                    request=request, date=day, start_time=start, end_time=end, position=position
                )

    def _press(self, people, campaign) -> None:
        """The five journalists on the press list (consent), one embargoed press conference
        with two interview slots, and the campaign's media hooks."""
        from press.models import InterviewSlot, Journalist, MediaHook, MediaMoment, Spokesperson

        media_types = ["national", "national", "regional", "regional", "trade"]
        for person, media_type in zip(people, media_types, strict=True):
            Journalist.objects.update_or_create(
                person=person,
                defaults={
                    "outlet": person.organisation,
                    "media_type": media_type,
                    "region": person.organisation.region,
                    "topics": "werkstress, arbeidsmarkt, zorg",
                    "legal_basis": Journalist.LegalBasis.CONSENT,
                    "agreed_on": date(2026, 1, 15),
                },
            )
        speakers = []
        for name, email, role in [
            ("Mirjam Hoekstra", "mirjam.hoekstra@woordvoerder-demo.nl", "expert_by_experience"),
            ("Ruud van Dijk", "ruud.vandijk@szw-demo.nl", "official"),
        ]:
            person, _ = Person.objects.update_or_create(email=email, defaults={"name": name})
            speaker, _ = Spokesperson.objects.update_or_create(
                person=person, defaults={"role": role}
            )
            speakers.append(speaker)
        event, _ = Event.objects.update_or_create(
            slug="persconferentie-werkstress-cijfers-2027",
            defaults={
                "campaign": campaign,
                "kind": Event.Kind.MEDIA_MOMENT,
                "title": "Persconferentie: nieuwe cijfers over werkstress",
                "starts_at": aware(2027, 3, 2, 10, 0),
                "ends_at": aware(2027, 3, 2, 12, 0),
                "venue_name": "Nieuwspoort",
                "venue_address": "Lange Poten 10, 2511 CL Den Haag",
                "status": Event.Status.PUBLISHED,
                "capacity": None,
            },
        )
        moment, _ = MediaMoment.objects.update_or_create(
            event=event,
            defaults={"sub_kind": "press_conference", "embargo_until": aware(2027, 3, 2, 11, 0)},
        )
        moment.spokespersons.set(speakers)
        for speaker, hour in zip(speakers, (11, 11), strict=True):
            InterviewSlot.objects.update_or_create(
                spokesperson=speaker,
                starts_at=aware(2027, 3, 2, hour, 15),
                defaults={"moment": moment, "ends_at": aware(2027, 3, 2, hour, 45)},
            )
        for title, starts, ends in [
            ("Week van de Werkstress 2026", date(2026, 11, 16), date(2026, 11, 20)),
            ("Wereld Mentale Gezondheidsdag", date(2027, 10, 10), None),
            ("Week van de Werkstress 2027", date(2027, 11, 15), date(2027, 11, 19)),
        ]:
            MediaHook.objects.update_or_create(
                title=title, defaults={"campaign": campaign, "starts_on": starts, "ends_on": ends}
            )

    def _report(self, organiser, password) -> None:
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Organisation.objects.count()} organisations, "
                f"{Event.objects.count()} events. Organiser login: {organiser.email} / {password}"
            )
        )
