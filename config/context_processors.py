from django.conf import settings


def site(request) -> dict:
    return {"ORGANISER_NAME": settings.ORGANISER_NAME, "SITE_URL": settings.SITE_URL}
