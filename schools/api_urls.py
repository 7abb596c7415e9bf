from django.urls import path

from . import api

urlpatterns = [
    path("requests/", api.RequestListCreateView.as_view(), name="school_request_list"),
    path(
        "requests/<int:request_id>/",
        api.RequestDetailView.as_view(),
        name="school_request_detail",
    ),
    path("ambassadors/", api.AmbassadorListView.as_view(), name="ambassador_list"),
    path("sessions/", api.SessionListView.as_view(), name="school_session_list"),
]
