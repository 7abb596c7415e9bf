"""Plain data the renderers take. Built from database rows by communications.documents."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TicketDoc:
    language: str
    event_title: str
    starts_at: datetime
    ends_at: datetime
    venue_name: str
    venue_address: str
    online_url: str
    attendee_name: str
    ticket_type: str
    booking_code: str
    secret: str
    organiser_name: str


@dataclass(frozen=True)
class CertificateDoc:
    """One page: an attendee certificate or an organisation's campaign-week certificate."""

    kind: str  # "attendee" | "organisation"
    language: str
    name: str  # attendee name or organisation name
    event_title: str
    starts_at: datetime
    ends_at: datetime
    verification_code: str
    verification_url: str
    organiser_name: str
    hours: float = 0.0
    activities: tuple[str, ...] = field(default_factory=tuple)  # translated labels
    employees_reached: int = 0


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    sequence: int
    summary: str
    description: str
    starts_at: datetime
    ends_at: datetime
    location: str
    url: str
    cancelled: bool
    last_modified: datetime | None = None


@dataclass(frozen=True)
class CalendarAttendee:
    name: str
    email: str
    language: str = "nl"
