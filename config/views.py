from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from events.selectors import event_list_upcoming


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"events": event_list_upcoming()[:6]})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and container health checks: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
