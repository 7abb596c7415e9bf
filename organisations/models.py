import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .validators import BRIN_RE, KVK_RE, POSTCODE_RE, validate_brin, validate_kvk, validate_postcode


class Region(models.Model):
    """One of the 35 Dutch labour-market regions (arbeidsmarktregio's), loaded from data/."""

    code = models.CharField(_("code"), max_length=4, unique=True)
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("labour-market region")
        verbose_name_plural = _("labour-market regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    class Kind(models.TextChoices):
        EMPLOYER = "employer", _("Employer")
        SCHOOL = "school", _("School")
        MEDIA_OUTLET = "media_outlet", _("Media outlet")
        PARTNER = "partner", _("Partner")

    class Sector(models.TextChoices):
        CARE = "care", _("Care and welfare")
        EDUCATION = "education", _("Education")
        GOVERNMENT = "government", _("Government")
        INDUSTRY = "industry", _("Industry")
        CONSTRUCTION = "construction", _("Construction")
        RETAIL = "retail", _("Retail and wholesale")
        TRANSPORT = "transport", _("Transport and logistics")
        HOSPITALITY = "hospitality", _("Hospitality")
        FINANCE = "finance", _("Financial services")
        ICT = "ict", _("ICT")
        BUSINESS_SERVICES = "business_services", _("Business services")
        CULTURE = "culture", _("Culture and media")
        AGRICULTURE = "agriculture", _("Agriculture")
        OTHER = "other", _("Other")

    class SizeBand(models.TextChoices):
        MICRO = "1-9", _("1 to 9 employees")
        SMALL = "10-49", _("10 to 49 employees")
        MEDIUM = "50-249", _("50 to 249 employees")
        LARGE = "250-999", _("250 to 999 employees")
        VERY_LARGE = "1000+", _("1,000 employees or more")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.EMPLOYER)
    name = models.CharField(_("name"), max_length=200)
    kvk_number = models.CharField(
        _("KvK number"), max_length=8, blank=True, default="", validators=[validate_kvk]
    )
    brin_code = models.CharField(
        _("BRIN code"), max_length=4, blank=True, default="", validators=[validate_brin]
    )
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True, default="")
    sector = models.CharField(
        _("sector"), max_length=30, choices=Sector.choices, blank=True, default=""
    )
    size_band = models.CharField(
        _("size"), max_length=10, choices=SizeBand.choices, blank=True, default=""
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("labour-market region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
    )
    street = models.CharField(_("street and number"), max_length=200, blank=True, default="")
    postcode = models.CharField(
        _("postcode"), max_length=7, blank=True, default="", validators=[validate_postcode]
    )
    city = models.CharField(_("city"), max_length=100, blank=True, default="")
    website = models.URLField(_("website"), blank=True, default="")
    email = models.EmailField(_("general e-mail address"), blank=True, default="")
    listed_publicly = models.BooleanField(_("may be listed publicly"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kvk_number"], condition=~Q(kvk_number=""), name="organisation_kvk_unique"
            ),
            models.UniqueConstraint(
                fields=["brin_code"], condition=~Q(brin_code=""), name="organisation_brin_unique"
            ),
            models.CheckConstraint(
                condition=Q(kvk_number="") | Q(kvk_number__regex=KVK_RE),
                name="organisation_kvk_format",
            ),
            models.CheckConstraint(
                condition=Q(postcode="") | Q(postcode__regex=POSTCODE_RE),
                name="organisation_postcode_format",
            ),
            models.CheckConstraint(
                condition=Q(brin_code="") | Q(brin_code__regex=BRIN_RE),
                name="organisation_brin_format",
            ),
            models.CheckConstraint(
                condition=~Q(kind="school") | ~Q(brin_code=""),
                name="organisation_school_has_brin",
            ),
        ]
        indexes = [models.Index(fields=["kind", "name"])]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user acting for an organisation in the organisation portal."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Organisation administrator")
        MEMBER = "member", _("Member")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organisation__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.get_role_display()})"


def new_invitation_secret() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    """An e-mailed invitation to become a member of an organisation in the portal.

    The link carries a signed (expiring) reference to `secret`; `accepted_at` makes it
    single-use.
    """

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(
        _("role"), max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    secret = models.CharField(
        _("secret"), max_length=64, unique=True, default=new_invitation_secret
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("valid until"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.email} -> {self.organisation}"
