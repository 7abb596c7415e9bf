from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A login. People log in with their e-mail address; there is no separate username."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=5,
        choices=[("nl", "Nederlands"), ("en", "English")],
        default="nl",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class OrganiserRole(models.Model):
    """What an organiser (ministry / agency staff) may do.

    Organisation people (Membership), ambassadors (schools) and journalists (press) have their
    own rows elsewhere; this table is only for organiser staff. The checks that read it live in
    common/permissions.py, the one place every app asks.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", _("Organiser administrator")
        CAMPAIGN_MANAGER = "campaign_manager", _("Campaign manager")
        CHECKIN_STAFF = "checkin_staff", _("Check-in staff")

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="organiser_roles", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    campaigns = models.ManyToManyField(
        "events.Campaign",
        blank=True,
        related_name="organiser_roles",
        verbose_name=_("campaigns"),
        help_text=_("Campaign managers: the campaigns they manage."),
    )
    events = models.ManyToManyField(
        "events.Event",
        blank=True,
        related_name="organiser_roles",
        verbose_name=_("events"),
        help_text=_("Check-in staff: the events whose check-in they may run."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organiser role")
        verbose_name_plural = _("organiser roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="organiser_role_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"
