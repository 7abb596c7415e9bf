from django.urls import path

from . import certificates, feeds, views

app_name = "communications"
urlpatterns: list = [
    # Organiser outbox (staff only).
    path("outbox/", views.outbox_list, name="outbox_list"),
    path("outbox/<int:pk>/", views.outbox_detail, name="outbox_detail"),
    path("outbox/<int:pk>/html/", views.outbox_html, name="outbox_html"),
    path("outbox/<int:pk>/resend/", views.outbox_resend, name="outbox_resend"),
    path(
        "events/<int:event_id>/certificates/",
        certificates.certificate_runs,
        name="certificate_runs",
    ),
    path("certificate-runs/<int:run_id>/", certificates.certificate_run, name="certificate_run"),
]

# Public pages mounted at the site root, language-prefixed (namespace "documents").
public_urlpatterns = [
    path(
        "certificates/verify/",
        certificates.certificate_verify_form,
        name="certificate_verify_form",
    ),
    path(
        "certificates/verify/<str:code>/",
        certificates.certificate_verify,
        name="certificate_verify",
    ),
]

# Calendar files, without a language prefix: calendar apps subscribe to one fixed URL
# (namespace "feeds").
feed_urlpatterns = [
    path("events/<slug:slug>/calendar.ics", feeds.event_calendar, name="event_calendar"),
    path("calendar/campaigns/<slug:slug>.ics", feeds.campaign_feed, name="campaign_feed"),
    path(
        "calendar/organisations/<str:token>.ics",
        feeds.organisation_feed,
        name="organisation_feed",
    ),
]
