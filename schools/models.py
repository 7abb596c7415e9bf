"""School information sessions (Ik Zorg): requests from schools, ambassadors, planned sessions.

A planned session is an `events.Event` of kind school_session; this app only keeps what the
event does not: who asked, who goes, and what came of it.
"""

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class WorkField(models.Model):
    """A work field in care and welfare (the twelve are loaded by a data migration)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("work field")
        verbose_name_plural = _("work fields")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Ambassador(models.Model):
    """Someone who works in care or welfare and tells pupils about it."""

    person = models.OneToOneField(
        "participants.Person",
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="ambassador_profile",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ambassador_profile",
    )
    work_field = models.ForeignKey(
        WorkField, verbose_name=_("work field"), on_delete=models.PROTECT, related_name="+"
    )
    regions = models.ManyToManyField(
        "organisations.Region", verbose_name=_("home regions"), related_name="ambassadors"
    )
    max_travel_km = models.PositiveIntegerField(_("maximum travel distance (km)"), default=30)
    max_sessions_per_month = models.PositiveSmallIntegerField(
        _("maximum sessions per month"), default=2
    )
    trainings = models.TextField(_("completed trainings (one per line)"), blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    secret = models.CharField(_("secret"), max_length=64, unique=True, default=new_secret)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("ambassador")
        verbose_name_plural = _("ambassadors")
        ordering = ["person__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_sessions_per_month__gte=1), name="ambassador_max_sessions_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.person.name

    @property
    def training_list(self) -> list[str]:
        return [line.strip() for line in self.trainings.splitlines() if line.strip()]


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class AvailabilityWindow(models.Model):
    """When an ambassador can give a session: every week on a weekday, or on one date."""

    ambassador = models.ForeignKey(
        Ambassador,
        verbose_name=_("ambassador"),
        on_delete=models.CASCADE,
        related_name="availability",
    )
    weekday = models.PositiveSmallIntegerField(
        _("every week on"), choices=Weekday.choices, null=True, blank=True
    )
    date = models.DateField(_("on date"), null=True, blank=True)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("availability")
        verbose_name_plural = _("availability")
        ordering = ["ambassador", "date", "weekday", "start_time"]
        constraints = [
            # Recurring (weekday) or one-off (date), never both or neither.
            models.CheckConstraint(
                condition=(Q(weekday__isnull=True) & Q(date__isnull=False))
                | (Q(weekday__isnull=False) & Q(date__isnull=True)),
                name="availability_weekday_xor_date",
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="availability_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__isnull=True) | Q(weekday__lte=6),
                name="availability_weekday_range",
            ),
        ]

    def __str__(self) -> str:
        when = self.date.isoformat() if self.date else self.get_weekday_display()
        return f"{when} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def covers(self, starts_at: datetime, ends_at: datetime) -> bool:
        start, end = starts_at.astimezone(AMSTERDAM), ends_at.astimezone(AMSTERDAM)
        if start.date() != end.date():
            return False
        if self.date is not None and self.date != start.date():
            return False
        if self.weekday is not None and self.weekday != start.weekday():
            return False
        return self.start_time <= start.time() and end.time() <= self.end_time


class EducationLevel(models.TextChoices):
    VMBO = "vmbo", "vmbo"
    HAVO = "havo", "havo"
    VWO = "vwo", "vwo"
    MBO = "mbo", "mbo"


class SessionLanguage(models.TextChoices):
    NL = "nl", _("Dutch")
    EN = "en", _("English")


class SchoolSessionRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PLANNED = "planned", _("Planned")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Held")

    school = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("school"),
        on_delete=models.PROTECT,
        related_name="school_session_requests",
        limit_choices_to={"kind": "school"},
    )
    campaign = models.ForeignKey(
        "events.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="school_session_requests",
    )
    contact = models.ForeignKey(
        "participants.Person",
        verbose_name=_("contact person"),
        on_delete=models.PROTECT,
        related_name="school_session_requests",
    )
    education_level = models.CharField(
        _("education level"), max_length=5, choices=EducationLevel.choices
    )
    pupils = models.PositiveIntegerField(_("number of pupils"))
    classes = models.PositiveSmallIntegerField(_("number of classes"))
    work_field = models.ForeignKey(
        WorkField,
        verbose_name=_("preferred work field"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    language = models.CharField(
        _("language of the session"),
        max_length=2,
        choices=SessionLanguage.choices,
        default=SessionLanguage.NL,
    )
    wishes = models.TextField(_("other wishes"), blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    secret = models.CharField(_("secret"), max_length=64, unique=True, default=new_secret)
    # An API client's Idempotency-Key and a hash of its body: a retried create returns the
    # first request instead of making a second one.
    client_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    client_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("school session request")
        verbose_name_plural = _("school session requests")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(pupils__gte=1), name="schoolrequest_pupils"),
            models.CheckConstraint(condition=Q(classes__gte=1), name="schoolrequest_classes"),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.school} ({self.get_education_level_display()}, {self.pupils})"


class PreferredSlot(models.Model):
    """A date and time window the school proposes; a planned session takes exactly this time."""

    request = models.ForeignKey(
        SchoolSessionRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="slots",
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("preferred date")
        verbose_name_plural = _("preferred dates")
        ordering = ["request", "position", "date", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="slot_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.date, self.start_time, tzinfo=AMSTERDAM)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.date, self.end_time, tzinfo=AMSTERDAM)


class SchoolSession(models.Model):
    """An ambassador assigned to a request; time and place live on the event."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Held")

    request = models.ForeignKey(
        SchoolSessionRequest,
        verbose_name=_("request"),
        on_delete=models.PROTECT,
        related_name="sessions",
    )
    event = models.OneToOneField(
        "events.Event",
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        related_name="school_session",
    )
    ambassador = models.ForeignKey(
        Ambassador, verbose_name=_("ambassador"), on_delete=models.PROTECT, related_name="sessions"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    # Journalists are invited through a media moment (press area); only the link lives here.
    media_moment = models.ForeignKey(
        "events.Event",
        verbose_name=_("media moment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "media_moment"},
    )
    secret = models.CharField(_("secret"), max_length=64, unique=True, default=new_secret)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("school session")
        verbose_name_plural = _("school sessions")
        ordering = ["event__starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=~Q(status="cancelled"),
                name="schoolsession_one_active_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.ambassador})"


class SessionFeedback(models.Model):
    class Role(models.TextChoices):
        SCHOOL = "school", _("School")
        AMBASSADOR = "ambassador", _("Ambassador")

    session = models.ForeignKey(
        SchoolSession, verbose_name=_("session"), on_delete=models.CASCADE, related_name="feedback"
    )
    role = models.CharField(_("from"), max_length=10, choices=Role.choices)
    rating = models.PositiveSmallIntegerField(_("rating (1-5)"))
    pupils_reached = models.PositiveIntegerField(_("pupils actually reached"))
    comments = models.TextField(_("comments"), blank=True, default="")
    submitted_at = models.DateTimeField(_("submitted"), auto_now=True)

    class Meta:
        verbose_name = _("session feedback")
        verbose_name_plural = _("session feedback")
        ordering = ["session", "role"]
        constraints = [
            models.UniqueConstraint(fields=["session", "role"], name="feedback_one_per_role"),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="feedback_rating_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session}: {self.get_role_display()} {self.rating}/5"
