"""The container setup, checked without a Docker engine (there is none on this machine):
compose.yaml is valid YAML describing the services we run, the Dockerfile only copies what
exists, the image's build steps and health check work against the real code, and .env.example
lists every setting the README documents."""

import fnmatch
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
DOCKERFILE = (DOCKER / "Dockerfile").read_text()
APP_SERVICES = ("migrate", "web", "worker", "beat")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        current += " " + stripped.rstrip("\\").strip()
        if not stripped.endswith("\\"):
            logical.append(current.strip())
            current = ""
    return [tuple(item.split(None, 1)) for item in logical]  # type: ignore[misc]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored_by_docker(relative: str) -> bool:
    ignored = False
    for pattern in dockerignore_patterns():
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern + "/*"):
            ignored = not negate
    return ignored


# --- compose.yaml ----------------------------------------------------------------------------


def test_compose_runs_web_worker_beat_postgres_and_redis():
    services = COMPOSE["services"]
    assert {"web", "worker", "beat", "db", "redis", "migrate"} <= set(services)
    assert services["db"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"], name


def test_app_services_share_the_image_and_run_production_settings():
    for name in APP_SERVICES:
        service = COMPOSE["services"][name]
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}, name
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert service["env_file"] == "../.env"
        # The compose file sits in docker/, so ../.env is the repository root's.
        assert (DOCKER / service["env_file"]).resolve().parent == ROOT


def test_app_services_wait_for_healthy_dependencies_and_the_migration():
    services = COMPOSE["services"]
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert services["beat"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_worker_consumes_every_queue_the_tasks_are_routed_to():
    from django.conf import settings

    command = COMPOSE["services"]["worker"]["command"]
    assert command[:4] == ["celery", "-A", "config", "worker"]
    queues = set(command[command.index("--queues") + 1].split(","))
    assert queues == {"mail", "documents", "default"}
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= queues
    beat = COMPOSE["services"]["beat"]["command"]
    assert beat[:4] == ["celery", "-A", "config", "beat"]


def test_only_web_uses_the_http_health_check():
    services = COMPOSE["services"]
    assert "healthcheck" not in services["web"]  # inherits the image's HEALTHCHECK
    assert services["beat"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["healthcheck"] == {"disable": True}
    assert "inspect ping" in services["worker"]["healthcheck"]["test"][1]


def test_named_volumes_are_declared_and_media_is_shared_by_web_and_worker():
    declared = set(COMPOSE["volumes"])
    used = set()
    for service in COMPOSE["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used == declared
    for name in ("web", "worker"):
        assert "media:/app/var/media" in COMPOSE["services"][name]["volumes"]
        # Press material (kept outside media on purpose) must not go with the container.
        assert "private:/app/var/private" in COMPOSE["services"][name]["volumes"]


def test_every_variable_compose_interpolates_has_a_default_or_is_in_env_example():
    text = (DOCKER / "compose.yaml").read_text()
    documented = env_example()
    for match in re.finditer(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(:?[-?][^}]*)?\}", text):
        name, default = match.groups()
        assert default or name in documented, name


# --- Dockerfile ---------------------------------------------------------------------------------


def test_every_copy_source_exists_and_is_not_dockerignored():
    copies = [args for instruction, args in dockerfile_instructions() if instruction == "COPY"]
    assert copies
    for args in copies:
        parts = [part for part in shlex.split(args) if not part.startswith("--")]
        if "--from=" in args:
            continue  # copies from the builder stage, not the build context
        *sources, _destination = parts
        for source in sources:
            if source == ".":
                continue
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not ignored_by_docker(source), f"COPY {source}: excluded by .dockerignore"


def test_files_the_image_runs_are_in_the_build_context():
    for needed in ("manage.py", "config/wsgi.py", "docker/healthcheck.py", "locale", "static"):
        assert (ROOT / needed).exists(), needed
        assert not ignored_by_docker(needed), needed
    for secret_or_state in (".env", ".git", ".venv", "var", "staticfiles"):
        assert ignored_by_docker(secret_or_state), secret_or_state
    assert not ignored_by_docker(".env.example")


def test_runtime_stage_is_slim_bookworm_non_root_with_a_health_check():
    instructions = dockerfile_instructions()
    stages = [args for instruction, args in instructions if instruction == "FROM"]
    assert (
        len(stages) == 2 and stages[0].endswith("AS builder") and stages[1].endswith("AS runtime")
    )
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in DOCKERFILE
    runtime = instructions[[i for i, (ins, _) in enumerate(instructions) if ins == "FROM"][1] :]
    users = [args for instruction, args in runtime if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    user_index = max(i for i, (ins, _) in enumerate(runtime) if ins == "USER")
    cmd_index = max(i for i, (ins, _) in enumerate(runtime) if ins == "CMD")
    assert user_index < cmd_index
    healthcheck = [args for instruction, args in runtime if instruction == "HEALTHCHECK"]
    assert healthcheck and "docker/healthcheck.py" in healthcheck[0]
    run_steps = " ".join(args for instruction, args in runtime if instruction == "RUN")
    assert "compilemessages" in run_steps and "collectstatic" in run_steps


def test_runtime_stage_installs_the_weasyprint_libraries_system_deps_installs():
    script = (ROOT / "scripts/system-deps.sh").read_text()
    packages = re.search(r"packages=\(([^)]*)\)", script).group(1).split()
    for package in packages:
        assert package in DOCKERFILE, package


def test_builder_can_pin_every_runtime_dependency_from_the_lock():
    """The builder installs pyproject's dependencies with `-c requirements.lock`: each must be
    pinned there, or the image would get whatever version is newest that day."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {
        re.split(r"==", line)[0].strip().lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")
        assert name in pinned, requirement


# --- .env.example -------------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def readme_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_env_example_lists_every_variable_in_the_readme():
    variables = readme_variables()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= variables
    missing = variables - set(env_example())
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_holds_no_secrets_and_matches_the_compose_services():
    values = env_example()
    assert values["DJANGO_SECRET_KEY"] == ""
    assert values["STRIPE_SECRET_KEY"] == "" and values["STRIPE_WEBHOOK_SECRET"] == ""
    assert values["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    # The app reaches the compose services by their names, with the db service's credentials.
    assert values["DATABASE_URL"] == (
        f"postgres://{values['POSTGRES_USER']}:{values['POSTGRES_PASSWORD']}"
        f"@db:5432/{values['POSTGRES_DB']}"
    )
    assert values["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert values["CACHE_URL"].startswith("redis://redis:6379/")
    assert values["CACHE_URL"] != values["CELERY_BROKER_URL"]


# --- the image's build and run steps against the real code ------------------------------------


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "CACHE_URL")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "events.example.nl",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "VAR_DIR": str(tmp_path / "var"),
            **extra,
        }
    )
    return env


@pytest.mark.slow
def test_collectstatic_with_the_manifest_storage_succeeds(tmp_path):
    """The image runs collectstatic with hashed file names: it fails when a stylesheet refers to
    a file that is not there. Same storage minus compression, into a temporary directory."""
    env = production_env(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.ops.collectstatic_settings",
        TEST_STATIC_ROOT=str(tmp_path / "static"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_healthcheck_passes_against_gunicorn_with_production_settings(tmp_path):
    """The image's command and health check for real: gunicorn on production settings, probed
    over plain HTTP as Docker does; other paths still redirect to HTTPS."""
    port = free_port()
    env = production_env(tmp_path, PORT=str(port), WEB_CONCURRENCY="1")
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = (tmp_path / "gunicorn.log").open("w")
    # Same command as the Dockerfile's CMD, but bound to loopback only.
    server = subprocess.Popen(
        [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    probe = [sys.executable, str(DOCKER / "healthcheck.py")]
    try:
        for _ in range(100):
            result = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=10)
            if result.returncode == 0 or server.poll() is not None:
                break
            time.sleep(0.2)
        assert result.returncode == 0, result.stderr + (tmp_path / "gunicorn.log").read_text()

        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/nl/", headers={"Host": "events.example.nl"})
        response = connection.getresponse()
        assert response.status == 301
        assert response.getheader("Location") == "https://events.example.nl/nl/"
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

    # Control: with the server gone the probe fails, so the check above is not vacuous.
    result = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=10)
    assert result.returncode == 1
