"""Export definitions and the streaming writers (CSV and XLSX).

Rows come from `values_list(...).iterator(chunk_size=2000)`: the database cursor is read in
chunks and each row is written and dropped, so memory does not grow with the number of rows.
XLSX goes through XlsxWriter's constant_memory mode (rows flushed to disk as they are written,
strings inline instead of in a shared-strings table that would grow with every distinct value).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import xlsxwriter
from django.apps import apps
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.models import Event
from organisations.models import Organisation
from participants.models import CampaignParticipation, Registration, Ticket

from . import selectors
from .permissions import campaigns_visible

CHUNK_SIZE = 2000
# Characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection"); a tab
# or carriage return in front hides them from a first glance.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_DELIMITER = ";"  # what Excel with Dutch regional settings expects


def neutralise(value: str) -> str:
    """Prefix a quote so a spreadsheet shows the text instead of running it as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


@dataclass(frozen=True)
class Column:
    header: Any  # lazy translation; rendered in the export's language
    path: str
    kind: str = "text"  # text | datetime | date | int | bool | choice | choices
    choices: Any = None  # TextChoices class for choice / choices


@dataclass(frozen=True)
class ExportSpec:
    kind: str
    slug: Any  # file name stem, translated
    columns: tuple[Column, ...]
    queryset: Callable[..., QuerySet]
    requires: str = ""  # an app label that must be installed
    annotations: dict = field(default_factory=dict)

    def available(self) -> bool:
        return not self.requires or apps.is_installed(self.requires)


def _events(*, user, campaign_id: int | None, event_id: int | None) -> QuerySet[Event]:
    events = Event.objects.filter(campaign__in=campaigns_visible(user))
    if campaign_id:
        events = events.filter(campaign_id=campaign_id)
    if event_id:
        events = events.filter(pk=event_id)
    return events


def _attendees(events):
    return Ticket.objects.filter(event__in=events).order_by("event_id", "registration_id", "id")


def _organisations(events):
    return selectors.participating_organisations(events=events).order_by("name", "id")


def _participations(events):
    return CampaignParticipation.objects.filter(event__in=events).order_by("event_id", "id")


def _school_sessions(events):
    from schools.models import SchoolSession, SessionFeedback

    def feedback(role):
        return Subquery(
            SessionFeedback.objects.filter(session=OuterRef("pk"), role=role).values(
                "pupils_reached"
            )[:1],
            output_field=IntegerField(),
        )

    return (
        SchoolSession.objects.filter(event__in=events)
        .annotate(
            reached=Coalesce(
                feedback(SessionFeedback.Role.SCHOOL),
                feedback(SessionFeedback.Role.AMBASSADOR),
                "request__pupils",
                output_field=IntegerField(),
            )
        )
        .order_by("event__starts_at", "id")
    )


def _press_responses(events):
    from press.models import PressInvitation

    return PressInvitation.objects.filter(moment__event__in=events).order_by("moment_id", "id")


def _press_status():
    from press.models import PressInvitation

    return PressInvitation.Status


def _school_status():
    from schools.models import SchoolSession

    return SchoolSession.Status


def _education_level():
    from schools.models import EducationLevel

    return EducationLevel


def _specs() -> dict[str, ExportSpec]:
    specs = [
        ExportSpec(
            kind="attendees",
            slug=gettext_lazy("attendees"),
            queryset=_attendees,
            columns=(
                Column(gettext_lazy("Event"), "event__title"),
                Column(gettext_lazy("Event starts"), "event__starts_at", "datetime"),
                Column(gettext_lazy("Booking code"), "registration__code"),
                Column(
                    gettext_lazy("Booking status"),
                    "registration__status",
                    "choice",
                    Registration.Status,
                ),
                Column(gettext_lazy("Name"), "person__name"),
                Column(gettext_lazy("E-mail address"), "person__email"),
                Column(gettext_lazy("Organisation"), "registration__organisation__name"),
                Column(gettext_lazy("Ticket type"), "ticket_type__name"),
                Column(gettext_lazy("Ticket status"), "status", "choice", Ticket.Status),
                Column(gettext_lazy("Checked in at"), "checked_in_at", "datetime"),
                Column(gettext_lazy("Booked at"), "created_at", "datetime"),
            ),
        ),
        ExportSpec(
            kind="organisations",
            slug=gettext_lazy("organisations"),
            queryset=_organisations,
            columns=(
                Column(gettext_lazy("Name"), "name"),
                Column(gettext_lazy("Kind"), "kind", "choice", Organisation.Kind),
                Column(gettext_lazy("KvK number"), "kvk_number"),
                Column(gettext_lazy("BRIN code"), "brin_code"),
                Column(gettext_lazy("Sector"), "sector", "choice", Organisation.Sector),
                Column(gettext_lazy("Size"), "size_band", "choice", Organisation.SizeBand),
                Column(gettext_lazy("Region"), "region__name"),
                Column(gettext_lazy("Street and number"), "street"),
                Column(gettext_lazy("Postcode"), "postcode"),
                Column(gettext_lazy("City"), "city"),
                Column(gettext_lazy("E-mail address"), "email"),
                Column(gettext_lazy("Website"), "website"),
            ),
        ),
        ExportSpec(
            kind="participations",
            slug=gettext_lazy("participations"),
            queryset=_participations,
            columns=(
                Column(gettext_lazy("Campaign week"), "event__title"),
                Column(gettext_lazy("Organisation"), "organisation__name"),
                Column(gettext_lazy("KvK number"), "organisation__kvk_number"),
                Column(gettext_lazy("Region"), "organisation__region__name"),
                Column(
                    gettext_lazy("Sector"), "organisation__sector", "choice", Organisation.Sector
                ),
                Column(gettext_lazy("Contact person"), "contact__name"),
                Column(gettext_lazy("E-mail address"), "contact__email"),
                Column(
                    gettext_lazy("Activities"),
                    "activities",
                    "choices",
                    CampaignParticipation.Activity,
                ),
                Column(gettext_lazy("Employees expected to reach"), "employees_reached", "int"),
                Column(gettext_lazy("Status"), "status", "choice", CampaignParticipation.Status),
                Column(gettext_lazy("Signed up at"), "created_at", "datetime"),
            ),
        ),
        ExportSpec(
            kind="school_sessions",
            slug=gettext_lazy("school-sessions"),
            queryset=_school_sessions,
            requires="schools",
            columns=(
                Column(gettext_lazy("School"), "request__school__name"),
                Column(gettext_lazy("BRIN code"), "request__school__brin_code"),
                Column(gettext_lazy("Region"), "request__school__region__name"),
                Column(gettext_lazy("Starts at"), "event__starts_at", "datetime"),
                Column(
                    gettext_lazy("Education level"),
                    "request__education_level",
                    "choice",
                    _education_level,
                ),
                Column(gettext_lazy("Pupils requested"), "request__pupils", "int"),
                Column(gettext_lazy("Pupils reached"), "reached", "int"),
                Column(gettext_lazy("Ambassador"), "ambassador__person__name"),
                Column(gettext_lazy("Status"), "status", "choice", _school_status),
            ),
        ),
        ExportSpec(
            kind="press_responses",
            slug=gettext_lazy("press-responses"),
            queryset=_press_responses,
            requires="press",
            columns=(
                Column(gettext_lazy("Media moment"), "moment__event__title"),
                Column(gettext_lazy("Starts at"), "moment__event__starts_at", "datetime"),
                Column(gettext_lazy("Journalist"), "journalist__person__name"),
                Column(gettext_lazy("E-mail address"), "journalist__person__email"),
                Column(gettext_lazy("Outlet"), "journalist__outlet__name"),
                Column(gettext_lazy("Answer"), "status", "choice", _press_status),
                Column(gettext_lazy("Invited at"), "sent_at", "datetime"),
                Column(gettext_lazy("Answered at"), "responded_at", "datetime"),
                Column(
                    gettext_lazy("Accreditation requested at"),
                    "accreditation_requested_at",
                    "datetime",
                ),
                Column(gettext_lazy("Name on the accreditation"), "accreditation_name"),
                Column(gettext_lazy("Crew size"), "crew_size", "int"),
                Column(gettext_lazy("Camera"), "camera", "bool"),
                Column(gettext_lazy("Photographer"), "photo", "bool"),
            ),
        ),
    ]
    return {spec.kind: spec for spec in specs}


def export_specs() -> dict[str, ExportSpec]:
    """The export kinds whose data source is installed, by kind."""
    return {kind: spec for kind, spec in _specs().items() if spec.available()}


@dataclass
class PreparedExport:
    """An export bound to a user's scope and a language: headers and value converters are
    rendered up front, because a streamed response iterates after the view has returned (and
    outside any translation.override)."""

    spec: ExportSpec
    queryset: QuerySet
    headers: list[str]
    converters: list[Callable[[Any], Any]]
    slug: str = "export"

    def count(self) -> int:
        return self.queryset.count()

    def rows(self) -> Iterator[list[Any]]:
        paths = [column.path for column in self.spec.columns]
        converters = self.converters
        for values in self.queryset.values_list(*paths).iterator(chunk_size=CHUNK_SIZE):
            yield [convert(value) for convert, value in zip(converters, values, strict=True)]


def _converter(column: Column) -> Callable[[Any], Any]:
    if column.kind == "datetime":
        # Naive local time: what a spreadsheet cell and a reader in Amsterdam expect.
        return lambda v: timezone.localtime(v).replace(tzinfo=None) if v else None
    if column.kind in ("choice", "choices"):
        choices = column.choices
        if not hasattr(choices, "choices"):
            choices = choices()
        labels = {key: str(label) for key, label in choices.choices}
        if column.kind == "choices":
            return lambda v: ", ".join(labels.get(item, str(item)) for item in (v or []))
        return lambda v: labels.get(v, v or "")
    if column.kind == "bool":
        yes, no = _("yes"), _("no")
        return lambda v: yes if v else no
    if column.kind == "int":
        return lambda v: v if v is not None else None
    return lambda v: v if v is not None else ""


def export_prepare(
    *,
    kind: str,
    user,
    campaign_id: int | None = None,
    event_id: int | None = None,
    language: str = "nl",
) -> PreparedExport:
    """The rows `user` may export of `kind`, limited to a campaign and/or event."""
    spec = export_specs()[kind]
    events = _events(user=user, campaign_id=campaign_id, event_id=event_id)
    with translation.override(language):
        headers = [str(column.header) for column in spec.columns]
        converters = [_converter(column) for column in spec.columns]
        slug = str(spec.slug)
    return PreparedExport(
        spec=spec,
        queryset=spec.queryset(events),
        headers=headers,
        converters=converters,
        slug=slug,
    )


# --- writers --------------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return "" if value is None else value


class _Line:
    """A write-only file object for csv.writer that hands back what was written."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """The CSV (UTF-8 with BOM so Excel reads accents) as byte chunks of ~500 rows."""
    writer = csv.writer(_Line(), delimiter=CSV_DELIMITER)
    yield "\ufeff".encode() + writer.writerow([neutralise(h) for h in headers]).encode()
    buffer: list[str] = []
    for row in rows:
        buffer.append(writer.writerow([_csv_cell(value) for value in row]))
        if len(buffer) >= 500:
            yield "".join(buffer).encode()
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode()


def write_csv(
    path,
    headers: list[str],
    rows: Iterable[list[Any]],
    progress: Callable[[int], None] | None = None,
) -> int:
    count = 0

    def counted():
        nonlocal count
        for row in rows:
            yield row
            count += 1
            if progress and count % CHUNK_SIZE == 0:
                progress(count)

    with open(path, "wb") as handle:
        for chunk in csv_chunks(headers, counted()):
            handle.write(chunk)
    return count


def write_xlsx(
    path,
    headers: list[str],
    rows: Iterable[list[Any]],
    progress: Callable[[int], None] | None = None,
    sheet_name: str = "Export",
) -> int:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent)})
    try:
        sheet = workbook.add_worksheet(sheet_name[:31])
        bold = workbook.add_format({"bold": True})
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        for col, header in enumerate(headers):
            sheet.write_string(0, col, neutralise(header), bold)
            sheet.set_column(col, col, max(12, min(40, len(header) + 4)))
        sheet.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                # Explicit write_* calls: the generic write() would turn "=..." into a formula.
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(count, col, value)
                elif isinstance(value, (int, float)):
                    sheet.write_number(count, col, value)
                elif isinstance(value, dt.datetime):
                    sheet.write_datetime(count, col, value, when)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(count, col, value, day)
                else:
                    sheet.write_string(count, col, neutralise(str(value)))
            if progress and count % CHUNK_SIZE == 0:
                progress(count)
    finally:
        workbook.close()
    return count
