from django.urls import path

from . import checkin_views, views

app_name = "participants"

urlpatterns = [
    # Public forms for one event.
    path("events/<slug:slug>/book/", views.booking_create, name="booking_create"),
    path("events/<slug:slug>/waiting-list/", views.waitlist_join, name="waitlist_join"),
    path("events/<slug:slug>/sign-up/", views.participation_create, name="participation_create"),
    path("events/<slug:slug>/participants/", views.participation_list, name="participation_list"),
    # Organiser pages.
    path("events/<int:event_id>/checkin/", checkin_views.event_checkin, name="event_checkin"),
    # Personal signed links (names fixed by docs/contracts.md).
    path("booking/<str:token>/", views.booking_manage, name="booking_manage"),
    path("booking/<str:token>/confirmation/", views.booking_done, name="booking_done"),
    path("booking/<str:token>/cancel/", views.booking_cancel, name="booking_cancel"),
    path(
        "booking/<str:token>/tickets/<int:ticket_id>/name/",
        views.booking_ticket_rename,
        name="booking_ticket_rename",
    ),
    path(
        "booking/<str:token>/tickets/<int:ticket_id>/cancel/",
        views.booking_ticket_cancel,
        name="booking_ticket_cancel",
    ),
    path("ticket/<str:token>/", views.ticket_manage, name="ticket_manage"),
    path("ticket/<str:token>/cancel/", views.ticket_cancel, name="ticket_cancel"),
    path(
        "ticket/<str:token>/ticket.pdf", views.ticket_document, {"kind": "pdf"}, name="ticket_pdf"
    ),
    path("ticket/<str:token>/event.ics", views.ticket_document, {"kind": "ics"}, name="ticket_ics"),
    path("waiting-list/<str:token>/", views.waitlist_offer, name="waitlist_offer"),
    path("sign-up/<str:token>/", views.participation_manage, name="participation_manage"),
    path("sign-up/<str:token>/confirmation/", views.participation_done, name="participation_done"),
]
