"""Every third-party package the code imports is declared in pyproject.toml and pinned.

The container image installs only pyproject's runtime dependencies (held to requirements.lock),
so a package that is merely present in the development virtualenv, or arrives there only as a
test tool's dependency, would be missing in production.
"""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

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
