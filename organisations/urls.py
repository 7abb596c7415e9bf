from django.urls import path

from . import views

app_name = "organisations"

# Every pattern with an organisation_id goes through organisations.permissions.portal_view;
# tests/portal/test_isolation.py checks each of them for cross-organisation access.
urlpatterns = [
    path("", views.portal_index, name="portal"),
    path("<int:organisation_id>/", views.dashboard, name="dashboard"),
    path(
        "<int:organisation_id>/bookings/<int:registration_id>/",
        views.booking_detail,
        name="booking",
    ),
    path(
        "<int:organisation_id>/bookings/<int:registration_id>/attendees/add/",
        views.attendee_add,
        name="attendee_add",
    ),
    path(
        "<int:organisation_id>/tickets/<int:ticket_id>/change/",
        views.ticket_change,
        name="ticket_change",
    ),
    path(
        "<int:organisation_id>/tickets/<int:ticket_id>/cancel/",
        views.ticket_cancel,
        name="ticket_cancel",
    ),
    path("<int:organisation_id>/members/", views.members, name="members"),
    path("<int:organisation_id>/members/invite/", views.member_invite, name="member_invite"),
    path(
        "<int:organisation_id>/members/<int:membership_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "<int:organisation_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("<int:organisation_id>/api-keys/", views.api_tokens, name="api_tokens"),
    path(
        "<int:organisation_id>/api-keys/<int:token_id>/revoke/",
        views.api_token_revoke,
        name="api_token_revoke",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
