from django.urls import path

from . import views

app_name = "schools"

urlpatterns = [
    path("aanvragen/", views.request_create, name="request_create"),
    path("aanvraag/<str:token>/", views.request_manage, name="request_manage"),
    path("ambassadeur/", views.ambassador_me, name="ambassador_me"),
    path(
        "ambassadeur/beschikbaarheid/<int:window_id>/verwijderen/",
        views.availability_remove,
        name="availability_remove_me",
    ),
    path("ambassadeur/<str:token>/", views.ambassador_page, name="ambassador_page"),
    path(
        "ambassadeur/<str:token>/beschikbaarheid/<int:window_id>/verwijderen/",
        views.availability_remove,
        name="availability_remove",
    ),
    path("terugkoppeling/<str:token>/", views.feedback, name="feedback"),
    path("planning/", views.board, name="board"),
    path("planning/aanvragen/<int:request_id>/", views.request_plan, name="request_plan"),
    path("planning/sessies/<int:session_id>/", views.session_detail, name="session_detail"),
    path("statistieken/", views.statistics, name="statistics"),
]
