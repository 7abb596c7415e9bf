from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("audit/", views.audit_log, name="audit_log"),
    path("retention/", views.retention, name="retention"),
    path("person/", views.person, name="person"),
]
