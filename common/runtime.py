"""Start-up tuning for long-running server processes (gunicorn workers, Celery workers)."""

import gc

# Collect the youngest generation every 50,000 net allocations instead of 700, and the older
# ones less often: a request that builds a page of 100 bookings allocates tens of thousands of
# short-lived objects, and with the defaults the collector ran many times inside each such
# request. Measured (bench/api_lists.py, bookings at 100 per page): p95 ~200 ms with the
# defaults, 73 ms after freeze() alone, 47 ms with this threshold too, 41 ms with no collector.
GC_THRESHOLD = (50_000, 20, 20)


def prepare_server_process() -> None:
    """Call once the process has loaded the application.

    Imports every view now rather than on the first request, then moves everything loaded so
    far (Django, DRF, WeasyPrint, the app: hundreds of thousands of objects that live as long
    as the process) out of the collector's reach with ``gc.freeze()``. Without that, each
    full collection walks all of them: the bookings list at 100 per page had a p95 of ~200 ms
    against a median of ~33 ms, almost all of it collector pauses (bench/api_lists.py).
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
