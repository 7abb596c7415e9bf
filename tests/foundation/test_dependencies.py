"""Every third-party package the code imports is declared in pyproject.toml and pinned.

The container image installs only pyproject's runtime dependencies (held to requirements.lock),
so a package that is merely present in the development virtualenv, or arrives there only as a
test tool's dependency, would be missing in production.
"""

import ast
import re
import sys
import tomllib
from importlib import metadata
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", ".git", "var", "staticfiles", "node_modules", "__pycache__", "locale"}
# Code that never runs in the product; it may also use the test extras.
DEV_DIRS = {"tests", "bench", "scripts", "control"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The distribution name of a PEP 508 line such as "celery[redis]>=5.4,<6  # why"."""
    return canonical(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1))


def local_top_level_names() -> set[str]:
    names = set()
    for path in ROOT.iterdir():
        if path.name in SKIP_DIRS:
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            names.add(path.name)
        elif path.suffix == ".py":
            names.add(path.stem)
    return names


def python_files():
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts)
        if not parts & SKIP_DIRS:
            yield path


def imported_distributions() -> dict[str, set[str]]:
    """{"runtime" | "test": {distribution}} for every absolute import of a third-party module."""
    local = local_top_level_names()
    module_to_dists = packages_distributions()
    found: dict[str, set[str]] = {"runtime": set(), "test": set()}
    for path in python_files():
        scope = "test" if path.relative_to(ROOT).parts[0] in DEV_DIRS else "runtime"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top == "__future__":
                    continue
                dists = module_to_dists.get(top)
                assert dists, f"{path.relative_to(ROOT)} imports {top}, which nothing installs"
                found[scope].update(canonical(d) for d in dists)
    return found


def declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {requirement_name(r) for r in project["dependencies"]}
    extras = {
        requirement_name(r)
        for group in project.get("optional-dependencies", {}).values()
        for r in group
    }
    return {"runtime": runtime, "test": runtime | extras}


def undeclared() -> set[tuple[str, str]]:
    imports = imported_distributions()
    allowed = declared()
    missing = set()
    for scope, dists in imports.items():
        missing |= {(scope, d) for d in dists - allowed[scope]}
    # Django's own contrib apps and the project itself are not third-party imports.
    return {(scope, d) for scope, d in missing if d != "werkstress-events"}


def test_every_imported_package_is_declared():
    assert undeclared() == set()


def test_every_declared_dependency_is_pinned_in_the_lock():
    pinned = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pinned[canonical(name)] = version.strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [
        *project["dependencies"],
        *(r for group in project.get("optional-dependencies", {}).values() for r in group),
    ]
    unpinned = [r for r in requirements if requirement_name(r) not in pinned]
    assert unpinned == [], "not pinned in requirements.lock"


# Declared packages the code reaches without an import statement, and why.
USED_WITHOUT_IMPORT = {
    "gunicorn": "the web server process (docker/Dockerfile, bench)",
    "ruff": "make lint / make format",
    "pytest-django": "a pytest plugin, loaded by entry point",
    "psycopg": "Django's PostgreSQL backend imports it (DATABASE_URL)",
}
# Dotted paths in settings (INSTALLED_APPS, MIDDLEWARE, backends) load packages too.
SETTINGS_DIRS = ("config",)
DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def distributions_named_in_settings() -> set[str]:
    module_to_dists = packages_distributions()
    found = set()
    for folder in SETTINGS_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and DOTTED.match(node.value)
                ):
                    top = node.value.split(".")[0]
                    found.update(canonical(d) for d in module_to_dists.get(top, ()))
    return found


def test_every_declared_package_is_used():
    """The other direction: nothing is declared (and installed in production) that no code
    imports, no setting names and no tool runs."""
    imports = imported_distributions()
    used = imports["runtime"] | imports["test"] | distributions_named_in_settings()
    declared_names = declared()["test"]
    unused = declared_names - used - set(USED_WITHOUT_IMPORT)
    assert unused == set()
    assert set(USED_WITHOUT_IMPORT) <= declared_names, "allow-list names a package not declared"


def test_the_lock_holds_only_what_the_declared_packages_need():
    """requirements.lock pins the declared packages and what they require, nothing left over
    from a package that was removed."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = [
        *project["dependencies"],
        *(r for group in project.get("optional-dependencies", {}).values() for r in group),
    ]
    needed: set[str] = set()
    stack = [Requirement(r.split("#")[0]) for r in roots]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while stack:
        requirement = stack.pop()
        key = (canonical(requirement.name), tuple(sorted(requirement.extras)))
        if key in seen:
            continue
        seen.add(key)
        needed.add(key[0])
        for line in metadata.distribution(requirement.name).requires or []:
            child = Requirement(line)
            wanted = [*requirement.extras, ""]
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in wanted):
                stack.append(child)
    pinned = {
        canonical(line.split("==")[0])
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    assert pinned - needed == set(), "pinned but required by nothing declared"
