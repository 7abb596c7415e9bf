from django.urls import path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("", views.index, name="index"),
    path("campagnes/<int:campaign_id>/", views.campaign_dashboard, name="campaign_dashboard"),
    path("evenementen/<int:event_id>/", views.event_dashboard, name="event_dashboard"),
    path("exports/", views.export, name="export"),
    path("exports/jobs/<int:job_id>/", views.export_job, name="export_job"),
    path("exports/jobs/<int:job_id>/download/", views.export_download, name="export_download"),
]
