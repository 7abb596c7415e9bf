"""Certificates per second: the bulk path against one document per certificate.

Bulk path = what a certificate run does: ONE WeasyPrint document per chunk (default 100),
split per person with pypdf, each part stored through Django's storage; a run is worked on by
`CERTIFICATE_RUN_LANES` tasks in parallel (one per documents-worker process, 2 on this machine),
modelled here by a process pool. Single = one WeasyPrint document per certificate, one process.
No database and no mail: this measures rendering, splitting and storing.

    .venv/bin/python bench/documents.py [--count 1000] [--chunk 100] [--processes 2]

Prints `bulk certificates/s: N` and `single certificates/s: N` (wall clock), plus the one-process
bulk rate and CPU-time rates, which are steadier on a shared machine (load average shown).
"""

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
MEDIA = tempfile.mkdtemp(prefix="bench-documents-")
os.environ["MEDIA_ROOT"] = MEDIA


def _setup() -> None:
    import logging

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)


def _doc(i: int):
    from communications.renderers.data import CertificateDoc

    ams = ZoneInfo("Europe/Amsterdam")
    return CertificateDoc(
        kind="attendee",
        language="nl" if i % 3 else "en",
        name=f"Deelnemer {i:05d} van der Berg",
        event_title="Congres Gezond en Veilig Werken 2030",
        starts_at=datetime(2030, 11, 12, 9, 30, tzinfo=ams),
        ends_at=datetime(2030, 11, 12, 16, 0, tzinfo=ams),
        verification_code=f"ABCD-EFGH-{i:04d}",
        verification_url=f"https://events.example.nl/nl/certificates/verify/ABCDEFGH{i:04d}/",
        organiser_name="Ministerie van Sociale Zaken en Werkgelegenheid",
        hours=6.5,
    )


def _warm() -> None:
    # Font loading and stylesheet parsing happen once per worker process, not per run.
    from communications.renderers import pdf

    pdf.render_certificate_pdf(_doc(0))


def _bulk_chunk(numbers: list[int]) -> float:
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    from communications.renderers import pdf

    cpu = time.process_time()
    storage = FileSystemStorage(location=MEDIA)
    content, ranges = pdf.render_certificates_pdf([_doc(i) for i in numbers])
    for number, part in zip(numbers, pdf.split_pdf(content, ranges), strict=True):
        storage.save(f"bulk/{number}.pdf", ContentFile(part))
    return time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--chunk", type=int, default=None, help="default: communications.documents.CHUNK_SIZE"
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--single-count", type=int, default=None)
    args = parser.parse_args()
    single_count = args.single_count or args.count
    _setup()
    _warm()
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    from communications.documents import CHUNK_SIZE
    from communications.renderers import pdf

    args.chunk = args.chunk or CHUNK_SIZE
    chunks = [
        list(range(start, min(start + args.chunk, args.count)))
        for start in range(0, args.count, args.chunk)
    ]

    # Bulk, one process.
    started = time.perf_counter()
    cpu_one = sum(_bulk_chunk(chunk) for chunk in chunks)
    bulk_one = args.count / (time.perf_counter() - started)

    # Bulk, as a run with one lane per worker process.
    with ProcessPoolExecutor(args.processes, initializer=_init_worker) as pool:
        list(pool.map(_noop, range(args.processes)))  # workers started and warm
        started = time.perf_counter()
        list(pool.map(_bulk_chunk, chunks))
        bulk = args.count / (time.perf_counter() - started)

    storage = FileSystemStorage(location=MEDIA)
    cpu = time.process_time()
    started = time.perf_counter()
    for i in range(single_count):
        storage.save(f"single/{i}.pdf", ContentFile(pdf.render_certificate_pdf(_doc(i))))
    single = single_count / (time.perf_counter() - started)
    single_cpu = single_count / (time.process_time() - cpu)

    print(
        f"certificates: {args.count} bulk (chunks of {args.chunk}, {args.processes} processes), "
        f"{single_count} single"
    )
    print(f"bulk certificates/s: {bulk:.0f}")
    print(f"single certificates/s: {single:.0f}")
    print(f"bulk certificates/s, one process: {bulk_one:.0f}")
    print(f"bulk certificates per CPU-second: {args.count / cpu_one:.0f}")
    print(f"single certificates per CPU-second: {single_cpu:.0f}")
    print(f"load average: {os.getloadavg()[0]:.1f}")


def _init_worker() -> None:
    _setup()
    _warm()


def _noop(_: int) -> None:
    time.sleep(0.2)


if __name__ == "__main__":
    main()
