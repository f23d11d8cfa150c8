"""The four services keep one shape: SQL only in queries, projections and adapters; domains pure; no service
imports another; helper modules of the tests are not named ``test_*``.

Read from the source (``ast``), so a stray query in a blueprint or a handler fails here, named by file and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from services.registry import SERVICES
from tests.support import REPO_ROOT

SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE | re.DOTALL)
SERVICE_NAMES = SERVICES.names()


def modules(service: str, part: str) -> list[Path]:
    """The modules of a service's part: the package ``part/`` or the module ``part.py``."""
    root = REPO_ROOT / "services" / service
    return sorted((root / part).rglob("*.py")) if (root / part).is_dir() else [root / f"{part}.py"]


def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    """Modules imported when the file runs (imports under ``if TYPE_CHECKING:`` are for type checkers only)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree(path))
    return found


def sql_in(path: Path) -> list[str]:
    problems = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            problems.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} SQL {node.value[:40]!r}")
        elif isinstance(node, ast.Attribute) and (node.attr in ("execute", "executemany", "cursor")
                                                  or node.attr == "conn" and getattr(node.value, "id", "") == "uow"):
            problems.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} .{node.attr}")
    return problems


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_service_has_the_same_parts(service):
    root = REPO_ROOT / "services" / service
    missing = [part for part in ("bootstrap.py", "app.py", "api", "queries.py", "projections.py", "migrations")
               if not (root / part).exists()]
    missing += [part for part in ("domain", "handlers") if not modules(service, part)[0].exists()]
    assert not missing, f"{service} lacks {missing}"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_no_sql_in_the_api_or_the_handlers(service):
    problems = [problem for part in ("api", "handlers") for path in modules(service, part) for problem in sql_in(path)]
    assert not problems, problems


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_the_domain_is_pure_and_raises_its_own_errors(service):
    refused = ("psycopg", "flask", "marshmallow", "shared.db", "shared.web", "shared.errors.Conflict",
               f"services.{service}.commands", f"services.{service}.queries", f"services.{service}.api")
    problems = [f"{path.relative_to(REPO_ROOT)}:{line} imports {name}" for path in modules(service, "domain")
                for line, name in runtime_imports(path) if name.startswith(refused)]
    assert not problems, problems


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_imports_no_other_service(service):
    others = tuple(f"services.{other}" for other in SERVICE_NAMES + ["web"] if other != service)
    problems = [f"{path.relative_to(REPO_ROOT)}:{line} imports {name}"
                for path in sorted((REPO_ROOT / "services" / service).rglob("*.py"))
                for line, name in runtime_imports(path) if name.startswith(others)]
    assert not problems, problems


def test_helper_modules_of_the_tests_are_not_named_test():
    def has_tests(path: Path) -> bool:
        return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
                   for node in ast.walk(tree(path)))
    helpers = [str(path.relative_to(REPO_ROOT)) for path in sorted((REPO_ROOT / "tests").rglob("test_*.py"))
               if not has_tests(path)]
    assert not helpers, helpers


def test_what_the_tiers_share_lives_in_helper_modules_not_in_another_tiers_tests():
    """A sample history another tier needs is a helper module (``tests/audit_month.py``): importing a test module
    runs its fixtures' and tests' imports in a tier that does not collect them."""
    problems = []
    for path in sorted((REPO_ROOT / "tests").rglob("*.py")):
        for line, name in runtime_imports(path):
            parts = name.split(".")
            if len(parts) > 2 and parts[0] == "tests" and any(p.startswith("test_") for p in parts[1:3]) \
                    and REPO_ROOT.joinpath("tests", parts[1]) != path.parent:
                problems.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {name}")
    assert not problems, problems
