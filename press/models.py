"""Press list, media moments, press invitations, interview slots, material, hooks and coverage.

A media moment is an `events.Event` of kind media_moment plus the `MediaMoment` detail row here,
so times, places and calendar revisions stay in one place (events) and press only adds what is
specific to journalists.
"""

import os
import secrets

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Campaign, Event
from organisations.models import Organisation, Region
from participants.models import Person


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class PrivateMaterialStorage(FileSystemStorage):
    """Press material lives outside MEDIA_ROOT and has no public URL.

    Embargoed files must never be reachable by guessing a path, so the only way out is a press
    view that checks the embargo (press.views). `url()` refuses, so no template can leak one.
    """

    def __init__(self, **kwargs):
        kwargs.pop("location", None)
        kwargs["base_url"] = None
        super().__init__(**kwargs)

    # Read the setting on every use (not cached), so the location can never silently fall
    # back to MEDIA_ROOT and tests can point it at a temporary directory.
    @property
    def base_location(self):
        return settings.PRESS_MATERIAL_ROOT

    @property
    def location(self):
        return os.path.abspath(settings.PRESS_MATERIAL_ROOT)

    def url(self, name):
        raise ValueError("press material is served only through the press download views")


def material_storage() -> PrivateMaterialStorage:
    # A callable, so tests that override PRESS_MATERIAL_ROOT get a storage at the new place.
    return PrivateMaterialStorage()


class Journalist(models.Model):
    """A person on the press list. Removal keeps the row (to honour the request) but stops mail."""

    class MediaType(models.TextChoices):
        NATIONAL = "national", _("National")
        REGIONAL = "regional", _("Regional")
        LOCAL = "local", _("Local")
        TRADE = "trade", _("Trade press")
        ONLINE = "online", _("Online")

    class LegalBasis(models.TextChoices):
        CONSENT = "consent", _("Consent")
        LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")

    person = models.OneToOneField(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="journalist"
    )
    outlet = models.ForeignKey(
        Organisation,
        verbose_name=_("outlet"),
        on_delete=models.PROTECT,
        related_name="journalists",
        limit_choices_to={"kind": Organisation.Kind.MEDIA_OUTLET},
    )
    media_type = models.CharField(_("media type"), max_length=10, choices=MediaType.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="journalists",
    )
    topics = models.CharField(
        _("topics"), max_length=300, blank=True, default="", help_text=_("Separated by commas.")
    )
    legal_basis = models.CharField(
        _("basis for being on the press list"), max_length=20, choices=LegalBasis.choices
    )
    agreed_on = models.DateField(_("date agreed"))
    removed_at = models.DateTimeField(_("removed from the press list"), null=True, blank=True)
    removal_note = models.CharField(_("removal note"), max_length=200, blank=True, default="")
    secret = models.CharField(max_length=64, unique=True, default=new_secret, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("journalist")
        verbose_name_plural = _("journalists")
        ordering = ["person__name"]

    def __str__(self) -> str:
        return f"{self.person.name} ({self.outlet})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None

    @property
    def topic_list(self) -> list[str]:
        return [t.strip() for t in self.topics.split(",") if t.strip()]


class Spokesperson(models.Model):
    class Role(models.TextChoices):
        EXPERT_BY_EXPERIENCE = "expert_by_experience", _("Expert by experience")
        AMBASSADOR = "ambassador", _("Ambassador")
        OFFICIAL = "official", _("Official")

    person = models.OneToOneField(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="spokesperson"
    )
    role = models.CharField(_("role"), max_length=25, choices=Role.choices)
    bio = models.TextField(_("short introduction"), blank=True, default="")

    class Meta:
        verbose_name = _("spokesperson")
        verbose_name_plural = _("spokespersons")
        ordering = ["person__name"]

    def __str__(self) -> str:
        return f"{self.person.name} ({self.get_role_display()})"


class MediaMoment(models.Model):
    class SubKind(models.TextChoices):
        PRESS_CONFERENCE = "press_conference", _("Press conference")
        INTERVIEW = "interview", _("Interview")
        BROADCAST = "broadcast", _("TV or radio item")
        WORK_VISIT = "work_visit", _("Work visit")
        VIRTUAL_WORK_VISIT = "virtual_work_visit", _("Virtual work visit")

    event = models.OneToOneField(
        Event,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="media_moment",
        limit_choices_to={"kind": Event.Kind.MEDIA_MOMENT},
    )
    sub_kind = models.CharField(_("type of media moment"), max_length=20, choices=SubKind.choices)
    embargo_until = models.DateTimeField(_("under embargo until"), null=True, blank=True)
    spokespersons = models.ManyToManyField(
        Spokesperson, verbose_name=_("spokespersons"), blank=True, related_name="moments"
    )

    class Meta:
        verbose_name = _("media moment")
        verbose_name_plural = _("media moments")
        ordering = ["event__starts_at"]

    def __str__(self) -> str:
        return self.event.title

    def under_embargo(self, at=None) -> bool:
        at = at or timezone.now()
        return self.embargo_until is not None and at < self.embargo_until


class PressInvitation(models.Model):
    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    moment = models.ForeignKey(
        MediaMoment,
        verbose_name=_("media moment"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    journalist = models.ForeignKey(
        Journalist,
        verbose_name=_("journalist"),
        on_delete=models.PROTECT,
        related_name="invitations",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.INVITED
    )
    secret = models.CharField(max_length=64, unique=True, default=new_secret, editable=False)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    accreditation_requested_at = models.DateTimeField(
        _("accreditation requested"), null=True, blank=True
    )
    accreditation_name = models.CharField(
        _("name on the accreditation"), max_length=200, blank=True, default=""
    )
    accreditation_outlet = models.CharField(_("outlet"), max_length=200, blank=True, default="")
    crew_size = models.PositiveSmallIntegerField(_("crew size"), default=0)
    camera = models.BooleanField(_("with a film or TV camera"), default=False)
    photo = models.BooleanField(_("with a photographer"), default=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("press invitation")
        verbose_name_plural = _("press invitations")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["moment", "journalist"], name="press_invitation_once_per_moment"
            ),
            models.CheckConstraint(condition=Q(crew_size__lte=20), name="press_crew_size_max"),
        ]

    def __str__(self) -> str:
        return f"{self.journalist.person.name}: {self.moment}"


class InterviewSlot(models.Model):
    """A time a spokesperson is available for one interview; booked by at most one journalist.

    `invitation` is unique: one journalist per slot (a single column) and one slot per
    invitation (the unique index). A spokesperson's slots never overlap: checked by
    press.services.interview_slot_create and interview_slot_update (the admin uses both) under
    a lock of the spokesperson row.
    """

    moment = models.ForeignKey(
        MediaMoment, verbose_name=_("media moment"), on_delete=models.CASCADE, related_name="slots"
    )
    spokesperson = models.ForeignKey(
        Spokesperson, verbose_name=_("spokesperson"), on_delete=models.PROTECT, related_name="slots"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    invitation = models.OneToOneField(
        PressInvitation,
        verbose_name=_("booked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="slot",
    )
    booked_at = models.DateTimeField(_("booked"), null=True, blank=True)

    class Meta:
        verbose_name = _("interview slot")
        verbose_name_plural = _("interview slots")
        ordering = ["starts_at", "spokesperson"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="press_slot_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["spokesperson", "starts_at"], name="press_slot_spokesperson_start_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.spokesperson.person.name} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_free(self) -> bool:
        return self.invitation_id is None


def material_upload_to(instance, filename: str) -> str:
    # A random directory: file names may say what is in them, the path must not be guessable.
    return f"{instance.moment_id}/{secrets.token_hex(16)}/{filename}"


class PressMaterial(models.Model):
    class Kind(models.TextChoices):
        PRESS_RELEASE = "press_release", _("Press release")
        PHOTO = "photo", _("Photo")
        FACT_SHEET = "fact_sheet", _("Fact sheet")
        OTHER = "other", _("Other")

    moment = models.ForeignKey(
        MediaMoment,
        verbose_name=_("media moment"),
        on_delete=models.CASCADE,
        related_name="materials",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(
        _("file"), storage=material_storage, upload_to=material_upload_to, max_length=300
    )
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("press material")
        verbose_name_plural = _("press material")
        ordering = ["moment", "kind", "title"]

    def __str__(self) -> str:
        return self.title


class MediaHook(models.Model):
    """A date that draws media attention (World Mental Health Day, the campaign week itself)."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="media_hooks",
    )
    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(_("date"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, default="")

    class Meta:
        verbose_name = _("media hook")
        verbose_name_plural = _("media hooks")
        ordering = ["starts_on", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="press_hook_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Coverage(models.Model):
    class Kind(models.TextChoices):
        ARTICLE = "article", _("Article")
        BROADCAST = "broadcast", _("Broadcast")
        ONLINE = "online", _("Online")

    moment = models.ForeignKey(
        MediaMoment,
        verbose_name=_("media moment"),
        on_delete=models.CASCADE,
        related_name="coverage",
    )
    outlet = models.ForeignKey(
        Organisation,
        verbose_name=_("outlet"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coverage",
        limit_choices_to={"kind": Organisation.Kind.MEDIA_OUTLET},
    )
    outlet_name = models.CharField(_("outlet name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ARTICLE)
    published_on = models.DateField(_("date"))
    url = models.URLField(_("link"), blank=True, default="", max_length=500)
    estimated_reach = models.PositiveIntegerField(_("estimated reach"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coverage")
        verbose_name_plural = _("coverage")
        ordering = ["-published_on"]

    def __str__(self) -> str:
        return f"{self.outlet_name} {self.published_on}"
