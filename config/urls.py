from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from communications import urls as communications_urls

from . import views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("api.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("", include((communications_urls.feed_urlpatterns, "feeds"))),
]

# Pages carry the language in the path (/nl/..., /en/...); Dutch is the default.
urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("account/", include("accounts.urls")),
    path("", include("events.urls")),
    path("", include("participants.urls")),
    path("organisations/", include("organisations.urls")),
    path("payments/", include("payments.urls")),
    path("communications/", include("communications.urls")),
    path("pers/", include("press.urls")),
    path("scholen/", include("schools.urls")),
    path("mailings/", include("mailings.urls")),
    path("privacy/", include("privacy.urls")),
    path("beheer/", include("backoffice.urls")),
    path("", include((communications_urls.public_urlpatterns, "documents"))),
    prefix_default_language=True,
)

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
