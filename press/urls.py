from django.urls import path

from . import views

app_name = "press"

urlpatterns = [
    path("", views.press_page, name="page"),
    path("materiaal/<int:pk>/", views.material_download, name="material_download"),
    path("uitnodiging/<str:token>/", views.invitation, name="invitation"),
    path(
        "uitnodiging/<str:token>/materiaal/<int:pk>/",
        views.invitation_material,
        name="invitation_material",
    ),
    path("mijn/<str:token>/", views.my_invitations, name="my_invitations"),
    path("afmelden/<str:token>/", views.remove, name="remove"),
    path("beheer/", views.staff_moments, name="staff_moments"),
    path("beheer/agenda/", views.staff_hooks, name="staff_hooks"),
    path("beheer/momenten/nieuw/", views.staff_moment_create, name="staff_moment_create"),
    path("beheer/momenten/<int:pk>/", views.staff_moment_edit, name="staff_moment_edit"),
    path("beheer/momenten/<int:pk>/uitnodigen/", views.staff_invite, name="staff_invite"),
    path("beheer/momenten/<int:pk>/materiaal/", views.staff_material, name="staff_material"),
]
