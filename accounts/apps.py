from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib import admin

        from common.permissions import two_factor_state, user_is_organiser_admin

        def has_permission(request) -> bool:
            # The Django admin is for organiser administrators only (a campaign manager with a
            # staff flag gets the organiser pages of their campaigns, not the admin), and only
            # with a verified second factor (the middleware redirects before this; this holds
            # even if the middleware is left out).
            user = request.user
            return (
                user.is_active
                and user.is_staff
                and user_is_organiser_admin(user)
                and two_factor_state(user) == "ok"
            )

        admin.site.has_permission = has_permission
