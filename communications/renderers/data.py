"""Plain data the renderers take. Built from database rows by communications.documents."""

from dataclasses import asdict, dataclass, field, replace
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

    # What a calendar client schedules by: the part of an invite that must stay as the change
    # it announces left it. Title and description are texts an organiser edits without a new
    # revision (and a description may name people, e.g. a school session's ambassador), so
    # they are read when the mail is rendered and are not copied into outbox rows.
    SNAPSHOT_FIELDS = (
        "uid",
        "sequence",
        "starts_at",
        "ends_at",
        "location",
        "url",
        "cancelled",
        "last_modified",
    )

    def to_snapshot(self) -> dict:
        """The scheduling fields as plain JSON values (datetimes as ISO 8601 with their
        offset), for an outbox row: see communications.calendars."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in asdict(self).items()
            if name in self.SNAPSHOT_FIELDS
        }

    def with_snapshot(self, data: dict) -> "CalendarEvent":
        """This event with the scheduling fields of `data` (a `to_snapshot`); raises
        ValueError/KeyError/TypeError on a malformed one."""
        if not isinstance(data, dict):
            raise TypeError("calendar snapshot: not an object")
        values = {}
        for name in self.SNAPSHOT_FIELDS:
            value = data.get(name) if name == "last_modified" else data[name]
            if name in ("starts_at", "ends_at", "last_modified") and value is not None:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError(f"calendar snapshot: {name} has no offset")
            values[name] = value
        if not isinstance(values["uid"], str) or not isinstance(values["location"], str):
            raise TypeError("calendar snapshot: uid and location are text")
        if not isinstance(values["url"], str):
            raise TypeError("calendar snapshot: url is text")
        values["sequence"] = int(values["sequence"])
        values["cancelled"] = bool(values["cancelled"])
        return replace(self, **values)


@dataclass(frozen=True)
class CalendarAttendee:
    name: str
    email: str
    language: str = "nl"
