"""The architecture holds: what is installed, what imports what, how big a module may grow.

docs/architecture.md explains the rules; ``.importlinter`` states the import contracts and
the last test here runs them. The other checks are ones import-linter cannot make: the
packages pyproject.toml installs, import cycles between single modules, the Alembic
scripts (loaded by path, so outside the import graph) and module length.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
# "leadflow.models" -> "models": the namespace portions and the folders they are installed from.
PORTIONS: dict[str, str] = SETUPTOOLS["package-dir"]

MAX_LINES = 400
# Frozen history: Alembic revisions and the BI snapshot revision 0006 was rendered from.
LENGTH_EXEMPT = ("models/warehouse/migrations/**", "models/bi/views_0006.py")

# What a pure decision never reaches. A module of the people or SLA package that imports one
# of these itself is a store (it reads or writes the warehouse); any other module of those
# packages is a decision over records and must not reach one through a sibling either.
IMPURE = (
    "sqlalchemy",
    "alembic",
    "prefect",
    "great_expectations",
    "leadflow.models.warehouse",
    "leadflow.models.loading",
)


def _folder_of(package: str) -> Path | None:
    """The folder ``package`` is installed from, by the package-dir mapping."""
    for portion, folder in PORTIONS.items():
        if package == portion or package.startswith(portion + "."):
            rest = package[len(portion) :].strip(".")
            return ROOT / folder / Path(*rest.split(".")) if rest else ROOT / folder
    return None


def _packages_on_disk() -> set[str]:
    found = set()
    for portion, folder in PORTIONS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join((portion, *rel.parts)))
    return found


def _python_files() -> Iterator[Path]:
    for folder in PORTIONS.values():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield path


def test_pyproject_installs_every_package_folder() -> None:
    # setuptools installs the listed packages only: a folder with an __init__.py missing
    # from the list works in the editable install and is absent from the wheel.
    listed = set(SETUPTOOLS["packages"])
    on_disk = _packages_on_disk()
    assert sorted(on_disk - listed) == [], "add these to [tool.setuptools] packages"
    assert sorted(listed - on_disk) == [], "listed, but no folder with an __init__.py"
    assert all(_folder_of(package) for package in listed)


def test_every_python_file_ships() -> None:
    # A .py file outside a package is installed only as package data (the migrations).
    package_data: dict[str, list[str]] = SETUPTOOLS.get("package-data", {})
    packages = _packages_on_disk()
    missing = []
    for path in _python_files():
        if (path.parent / "__init__.py").is_file():
            continue
        shipped = False
        for package, patterns in package_data.items():
            base = _folder_of(package)
            if package in packages and base and path.is_relative_to(base):
                rel = path.relative_to(base).as_posix()
                shipped = shipped or any(fnmatch.fnmatch(rel, p) for p in patterns)
        if not shipped:
            missing.append(path.relative_to(ROOT).as_posix())
    assert missing == [], "outside any package and not package data: add an __init__.py"


def _linter_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    return config


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_contracts_cover_every_namespace_portion() -> None:
    roots = _lines(_linter_config()["importlinter"]["root_packages"])
    assert sorted(roots) == sorted(PORTIONS)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PORTIONS, include_external_packages=True, cache_dir=None)


def _strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in modules:
                    continue
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append(
                        (target, iter(sorted(graph.find_modules_directly_imported_by(target))))
                    )
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return components


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    # Imports under `if TYPE_CHECKING:` count: a type-only cycle still ties two modules.
    internal = {m for m in graph.modules if m.startswith("leadflow.")}
    cycles = []
    for component in _strongly_connected(graph, internal):
        edges = [
            f"  {a}:{d['line_number']} imports {b}: {d['line_contents']}"
            for a in component
            for b in component
            if graph.direct_import_exists(importer=a, imported=b)
            for d in graph.get_import_details(importer=a, imported=b)
        ]
        cycles.append(" <-> ".join(component) + "\n" + "\n".join(edges))
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def _people_and_sla_modules(graph: grimp.ImportGraph) -> dict[str, bool]:
    """Every module of the two packages, and whether it does I/O itself (imports IMPURE)."""
    impure = [m for m in IMPURE if m in graph.modules]
    return {
        module: any(
            imported == m or imported.startswith(m + ".")
            for imported in graph.find_modules_directly_imported_by(module)
            for m in impure
        )
        for module in graph.modules
        if module.startswith(("leadflow.models.people.", "leadflow.models.sla."))
    }


def test_people_and_sla_decisions_stay_pure(graph: grimp.ImportGraph) -> None:
    # A decision that calls a store (classify -> store -> sqlalchemy) is no longer pure.
    chains = []
    for module, does_io in sorted(_people_and_sla_modules(graph).items()):
        if does_io:
            continue
        for impure in IMPURE:
            if impure in graph.modules:
                chain = graph.find_shortest_chain(
                    importer=module, imported=impure, as_packages=True
                )
                if chain:
                    chains.append(" -> ".join(chain))
    message = "pure people/SLA modules reach I/O through a sibling:\n" + "\n".join(chains)
    assert chains == [], message


def test_pure_contract_names_the_pure_modules(graph: grimp.ImportGraph) -> None:
    # Keeps .importlinter's list true when a module is split, added or renamed.
    contract = _linter_config()["importlinter:contract:pure-people-sla"]
    named = set(_lines(contract["source_modules"]))
    pure = {
        module
        for module, does_io in _people_and_sla_modules(graph).items()
        if not does_io and not any(module.startswith(n + ".") for n in named)
    }
    assert sorted(pure - named) == [], "name these in .importlinter (pure-people-sla)"
    assert sorted(named - set(graph.modules)) == [], "named there, but gone"


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module


def test_migrations_import_only_the_warehouse() -> None:
    # Alembic loads these by path, so import-linter never sees them. The environment reads
    # the warehouse's metadata; a revision is frozen history and imports nothing of leadflow
    # (the BI views of 0006 are text in the revision, not an import of the BI package).
    migrations = ROOT / "models" / "warehouse" / "migrations"
    wrong = []
    for path in sorted(migrations.rglob("*.py")):
        in_revision = "versions" in path.relative_to(migrations).parts
        for line, module in _imports(path):
            if module.split(".")[0] != "leadflow":
                continue
            if in_revision or not module.startswith("leadflow.models.warehouse."):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []


def test_no_module_over_400_lines() -> None:
    long = {}
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        if any(fnmatch.fnmatch(rel, pattern) for pattern in LENGTH_EXEMPT):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long[rel] = lines
    assert long == {}, f"modules over {MAX_LINES} lines: split them by idea"


def test_import_contracts() -> None:
    # `lint-imports --no-cache`, as .ci/run runs it, with this interpreter.
    command = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    result = subprocess.run(
        [sys.executable, "-c", command, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
