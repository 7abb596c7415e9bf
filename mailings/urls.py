from django.urls import path

from . import views

app_name = "mailings"

urlpatterns = [
    path("", views.mailing_list, name="list"),
    path("new/", views.mailing_edit, name="create"),
    path("<int:pk>/", views.mailing_detail, name="detail"),
    path("<int:pk>/edit/", views.mailing_edit, name="edit"),
    path("<int:pk>/send/", views.mailing_send, name="send"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
