"""Run the benchmarks under bench/ and end with one table: figures, goals, met or not.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--markdown FILE]
        [-- extra arguments for the one script chosen with --only]

Every script runs in turn and prints its own output live; run_all reads the figures from that
output (the closing `name: value` lines), compares them with the goals from the issues and
prints a table headed by one line about the machine and the date. `--quick` passes small sizes
to every script (a smoke run: the figures are not comparable with the goals). A script that
exits non-zero, or does not print a figure a goal needs, shows as failed and makes run_all exit
non-zero; a goal that is not met does not (on a shared machine that is a measurement, not a
breakage).
"""

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

NUMBER = r"-?\d+(?:\.\d+)?"
# `key: 12.3`, optionally followed by a unit word and/or a parenthesised remark.
PAIR = re.compile(rf"^(?P<key>[^:]+?):\s*(?P<value>{NUMBER})(?:\s+[a-z]+)?(?:\s+\(.*\))?$")


# ---------------------------------------------------------------------------------------------
# Parsing (pure)


def parse_pairs(lines: list[str]) -> dict[str, float]:
    """`key: number` figures of the given lines. A line may hold several, separated by two or
    more spaces (`confirmed: 1500  sold_out: 500  seconds: 6.5`). Later lines win."""
    figures: dict[str, float] = {}
    for line in lines:
        for segment in re.split(r"\s{2,}", line.strip()):
            match = PAIR.match(segment)
            if match:
                figures[match["key"].strip()] = float(match["value"])
    return figures


def split_sections(stdout: str, start: re.Pattern) -> dict[str, list[str]]:
    """Lines per section; a section starts at a line matching `start` (its group 1 names it).
    Lines before the first section are under ""."""
    sections: dict[str, list[str]] = {"": []}
    current = ""
    for line in stdout.splitlines():
        match = start.match(line)
        if match:
            current = match.group(1)
            sections.setdefault(current, [])
            continue
        sections[current].append(line)
    return sections


# ---------------------------------------------------------------------------------------------
# Goals and figures (pure)


@dataclass(frozen=True)
class Goal:
    op: str  # ">=", "<", "<=", "=="
    threshold: float
    text: str = ""

    def describe(self) -> str:
        return self.text or f"{self.op} {format_number(self.threshold)}"

    def met(self, value: float) -> bool:
        return {
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            "==": value == self.threshold,
        }[self.op]


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None  # None: the script did not print it
    goal: Goal | None = None
    unit: str = ""

    @property
    def met(self) -> str:
        if self.goal is None:
            return "-"
        if self.value is None:
            return "no"
        return "yes" if self.goal.met(self.value) else "no"


def format_number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.1f}"


def figures_registration(stdout: str) -> list[Figure]:
    pairs = parse_pairs(stdout.splitlines())
    return [
        Figure("bookings/s", pairs.get("bookings/s"), Goal(">=", 200)),
        Figure("p95_ms", pairs.get("p95_ms"), Goal("<", 200)),
        Figure("oversold", pairs.get("oversold"), Goal("==", 0)),
        Figure("p50_ms", pairs.get("p50_ms")),
        Figure("p99_ms", pairs.get("p99_ms")),
        Figure("errors", pairs.get("errors")),
    ]


def figures_documents(stdout: str) -> list[Figure]:
    pairs = parse_pairs(stdout.splitlines())
    return [
        Figure("bulk certificates/s", pairs.get("bulk certificates/s"), Goal(">=", 150)),
        Figure("single certificates/s", pairs.get("single certificates/s")),
        Figure("bulk certificates per CPU-second", pairs.get("bulk certificates per CPU-second")),
    ]


MAIL_VARIANT = re.compile(r"^variant: (\w+)")
# The goal is for ticket confirmations as they go out: with the ticket PDF and the .ics.
MAIL_VARIANTS_WITH_ATTACHMENTS = {"prerendered", "attachments"}


def figures_mails(stdout: str) -> list[Figure]:
    sections = split_sections(stdout, MAIL_VARIANT)
    variants = [name for name in sections if name]
    if not variants:
        return [
            Figure("mails/s", None, Goal(">=", 150)),
            Figure("duplicates", None, Goal("==", 0)),
        ]
    figures = []
    for variant in variants:
        # The variant line is printed after the run; its figures follow it.
        pairs = parse_pairs(sections[variant])
        with_attachments = variant in MAIL_VARIANTS_WITH_ATTACHMENTS
        figures.append(
            Figure(
                f"mails/s ({variant})",
                pairs.get("mails/s"),
                Goal(">=", 150) if with_attachments else None,
            )
        )
        figures.append(Figure(f"duplicates ({variant})", pairs.get("duplicates"), Goal("==", 0)))
        if "bulk ticket PDFs/s" in pairs:
            figures.append(Figure(f"bulk ticket PDFs/s ({variant})", pairs["bulk ticket PDFs/s"]))
    return figures


EXPORT_SECTION = re.compile(r"^--- (small|large|control)\b")
# Bounded memory: the peak for the large event is about the peak for the small one, not
# (rows large / rows small) times it. Allowed: twice the small peak plus 1 MB of noise.
BOUNDED_FACTOR = 2.0
BOUNDED_SLACK_MB = 1.0


def export_peaks(stdout: str) -> dict[str, dict[str, float]]:
    """{section: {"csv": peak, "xlsx": peak, "xlsx job": peak, "csv rows": n, ...}}"""
    result = {}
    for name, lines in split_sections(stdout, EXPORT_SECTION).items():
        if not name:
            continue
        pairs = parse_pairs(lines)
        peaks = {}
        for key in ("csv", "xlsx", "list"):
            if f"{key} peak_mb" in pairs:
                peaks[key] = pairs[f"{key} peak_mb"]
            if f"{key} rows" in pairs:
                peaks[f"{key} rows"] = pairs[f"{key} rows"]
        if "job peak_mb" in pairs:
            peaks["xlsx job"] = pairs["job peak_mb"]
        result[name] = peaks
    return result


def figures_exports(stdout: str) -> list[Figure]:
    peaks = export_peaks(stdout)
    small, large = peaks.get("small", {}), peaks.get("large", {})
    figures = []
    for key in ("csv", "xlsx", "xlsx job"):
        rows_key = f"{key.split()[0]} rows"
        small_peak = small.get(key)
        if small_peak is None:
            goal = Goal("<=", float("nan"), "bounded (small run missing)")
        else:
            limit = BOUNDED_FACTOR * small_peak + BOUNDED_SLACK_MB
            small_rows = small.get(rows_key)
            at = f" at {format_number(small_rows)} rows" if small_rows is not None else ""
            goal = Goal(
                "<=",
                round(limit, 1),
                f"bounded: <= {limit:.1f} (2 x {small_peak:.1f}{at} + 1)",
            )
        large_rows = large.get(rows_key)
        at = f", {format_number(large_rows)} rows" if large_rows is not None else ""
        figures.append(Figure(f"{key} peak MB{at}", large.get(key), goal))
    control = peaks.get("control", {})
    if "list" in control:
        figures.append(Figure("peak MB holding the rows in a list", control["list"]))
    return figures


MAILING_SEND = re.compile(rf"^mailing_send: .*\((?P<rate>{NUMBER}) mails/s\)")
RETENTION_RUN = re.compile(rf"^retention run: .*\((?P<rate>{NUMBER}) people/s\)")


def figures_mailings(stdout: str) -> list[Figure]:
    send = retention = None
    for line in stdout.splitlines():
        if match := MAILING_SEND.match(line):
            send = float(match["rate"])
        elif match := RETENTION_RUN.match(line):
            retention = float(match["rate"])
    return [
        Figure("mailing mails queued/s", send),
        Figure("retention people anonymised/s", retention),
    ]


API_LISTS = ("events list", "bookings list")
NO_N_PLUS_ONE = Goal("==", 0, "== 0 (no N+1)")


def figures_api_lists(stdout: str) -> list[Figure]:
    pairs = parse_pairs(stdout.splitlines())
    figures = []
    for name in API_LISTS:
        figures += [
            Figure(f"{name} p95_ms (page 100)", pairs.get(f"{name} p95_ms (page 100)")),
            Figure(f"{name} queries (page 100)", pairs.get(f"{name} queries (page 100)")),
            Figure(
                f"{name} extra queries for more rows",
                pairs.get(f"{name} extra queries for more rows"),
                NO_N_PLUS_ONE,
            ),
        ]
    figures += [
        Figure("event detail p95_ms", pairs.get("event detail p95_ms")),
        Figure("event detail queries", pairs.get("event detail queries")),
    ]
    return figures


@dataclass(frozen=True)
class Benchmark:
    name: str  # the script's stem
    figures: Callable[[str], list[Figure]]
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    # Arguments computed at run time (e.g. a database name with the pid).
    extra_args: Callable[[], tuple[str, ...]] = field(default=lambda: ())


BENCHMARKS = [
    Benchmark(
        "registration_rush",
        figures_registration,
        args=("--requests", "2000", "--clients", "50"),
        quick_args=("--requests", "200", "--clients", "50"),
    ),
    Benchmark(
        "documents",
        figures_documents,
        quick_args=("--count", "100", "--chunk", "50", "--single-count", "20"),
    ),
    Benchmark("mails", figures_mails, quick_args=("--mails", "100")),
    Benchmark(
        "api_lists",
        figures_api_lists,
        quick_args=("--events", "20", "--bookings", "40", "--requests", "30"),
    ),
    Benchmark(
        "export_memory",
        figures_exports,
        # The exports' buffers fill up by about 5,000 rows; below that every export grows with
        # its rows, so even a quick run compares two sizes past that point.
        quick_args=("--rows", "20000", "--small", "5000"),
    ),
    Benchmark(
        "mailings_privacy",
        figures_mailings,
        quick_args=("--recipients", "300"),
        # PostgreSQL like production; the script's default is a SQLite file.
        extra_args=lambda: (
            "--database-url",
            f"postgres://postgres@127.0.0.1:5432/bench_mailings_{os.getpid()}",
        ),
    ),
]


@dataclass
class Result:
    benchmark: Benchmark
    returncode: int
    stdout: str
    seconds: float = 0.0

    @property
    def skipped(self) -> bool:
        return self.returncode == 0 and any(
            line.startswith("skipped:") for line in self.stdout.splitlines()
        )

    def figures(self) -> list[Figure]:
        if self.skipped:
            return []
        return self.benchmark.figures(self.stdout)

    @property
    def failed(self) -> bool:
        """Non-zero exit, or a figure that a goal needs is missing from the output."""
        if self.returncode != 0:
            return True
        return any(f.goal is not None and f.value is None for f in self.figures())


@dataclass(frozen=True)
class Row:
    benchmark: str
    figure: str
    value: str
    goal: str
    met: str


def result_rows(result: Result) -> list[Row]:
    label = f"{result.benchmark.name} ({result.seconds:.0f} s)"
    if result.skipped:
        reason = next(line for line in result.stdout.splitlines() if line.startswith("skipped:"))
        return [Row(label, "status", reason, "-", "-")]
    rows = [
        Row(
            label,
            figure.name,
            "missing" if figure.value is None else format_number(figure.value),
            figure.goal.describe() if figure.goal else "-",
            figure.met,
        )
        for figure in result.figures()
    ]
    if result.returncode != 0:
        rows.append(Row(label, "status", f"failed (exit {result.returncode})", "exit 0", "no"))
    elif result.failed:
        rows.append(Row(label, "status", "failed (figures missing)", "all figures", "no"))
    return rows


def summary_line(results: list[Result]) -> str:
    figures = [f for r in results for f in r.figures() if f.goal is not None]
    met = sum(1 for f in figures if f.met == "yes")
    failed = [r.benchmark.name for r in results if r.failed]
    line = f"goals met: {met} of {len(figures)}"
    line += f"; failed: {', '.join(failed)}" if failed else "; no script failed"
    return line


def text_table(rows: list[Row]) -> str:
    header = Row("benchmark", "figure", "value", "goal", "met")
    widths = [max(len(getattr(r, col)) for r in [header, *rows]) for col in Row.__annotations__]
    lines = []
    previous = None
    for i, row in enumerate([header, *rows]):
        cells = list(vars(row).values())
        if i and row.benchmark == previous:
            cells[0] = ""  # one name per group
        previous = row.benchmark if i else None
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = [
        "| benchmark | figure | value | goal | met |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(escape(c) for c in vars(row).values()) + " |")
    return "\n".join(lines)


def machine_line(info: dict, *, when: datetime, quick: bool) -> str:
    memory = info.get("memory_bytes")
    memory_text = f"{memory / 2**30:.1f} GiB" if memory else "memory unknown"
    load_start = info.get("load_start")
    load_end = info.get("load_end")
    load = "load average unknown"
    if load_start is not None:
        load = "load average " + " / ".join(f"{x:.1f}" for x in load_start)
        if load_end is not None:
            load += f" at start, {load_end[0]:.1f} at end"
    parts = [
        f"{info.get('cores', '?')} cores",
        memory_text,
        load,
        f"Python {info.get('python', '?')}",
        f"PostgreSQL {info.get('postgres') or 'unknown'}",
        f"Redis {info.get('redis') or 'unknown'}",
    ]
    line = f"machine: {', '.join(parts)}; {when:%Y-%m-%d %H:%M} UTC"
    if quick:
        line += "; QUICK RUN (small sizes, not comparable with the goals)"
    return line


# ---------------------------------------------------------------------------------------------
# The machine and running the scripts (impure)


def memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def postgres_version() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=5) as conn:
            return conn.execute("SHOW server_version").fetchone()[0].split()[0]
    except Exception:  # noqa: BLE001 - the header says "unknown" instead
        return None


def redis_version() -> str | None:
    # bench/mails.py starts its own redis-server, so that binary's version is the one measured.
    if not shutil.which("redis-server"):
        return None
    try:
        out = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"v=(\S+)", out)
    return match.group(1) if match else None


def machine_info() -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "load_start": os.getloadavg(),
        "python": platform.python_version(),
        "postgres": postgres_version(),
        "redis": redis_version(),
    }


def run_script(path: Path, args: list[str]) -> tuple[int, str]:
    """Run a script, echoing its stdout live and keeping a copy; stderr passes straight through."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(path), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    captured: list[str] = []

    def pump() -> None:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            captured.append(line)

    # A thread, so a grandchild that keeps the pipe open cannot hang run_all after the script
    # itself has exited.
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        returncode = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        raise
    reader.join(timeout=10)
    return returncode, "".join(captured)


def select(only: list[str] | None) -> list[Benchmark]:
    known = {b.name: b for b in BENCHMARKS}
    scripts = sorted(
        p.stem for p in HERE.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_")
    )
    # Scripts without an entry above still run; they show their exit status only.
    benchmarks = [b for b in BENCHMARKS if b.name in scripts] + [
        Benchmark(name, lambda _stdout: []) for name in scripts if name not in known
    ]
    if only:
        names = {n.removesuffix(".py") for item in only for n in item.split(",") if n}
        unknown = names - {b.name for b in benchmarks}
        if unknown:
            choices = ", ".join(b.name for b in benchmarks)
            raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))} ({choices})")
        benchmarks = [b for b in benchmarks if b.name in names]
    return benchmarks


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    passthrough: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, passthrough = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this benchmark (script name without .py; repeat or comma-separate)",
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    args = parser.parse_args(argv)
    benchmarks = select(args.only)
    if not benchmarks:
        print("no benchmarks yet")
        return 0
    if passthrough and len(benchmarks) != 1:
        parser.error("arguments after -- need exactly one --only NAME")

    info = machine_info()
    when = datetime.now(UTC)
    results = []
    for benchmark in benchmarks:
        script_args = [
            *(benchmark.quick_args if args.quick else benchmark.args),
            *benchmark.extra_args(),
            *passthrough,
        ]
        print(f"== {benchmark.name}.py {' '.join(script_args)}".rstrip(), flush=True)
        started = time.perf_counter()
        returncode, stdout = run_script(HERE / f"{benchmark.name}.py", script_args)
        results.append(Result(benchmark, returncode, stdout, time.perf_counter() - started))
    info["load_end"] = os.getloadavg()

    rows = [row for result in results for row in result_rows(result)]
    header = machine_line(info, when=when, quick=args.quick)
    summary = summary_line(results)
    print()
    print(header)
    print(text_table(rows))
    print(summary)
    if args.markdown:
        Path(args.markdown).write_text(f"{header}\n\n{markdown_table(rows)}\n\n{summary}\n")
        print(f"markdown table written to {args.markdown}")
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
