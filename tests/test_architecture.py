"""The seams a maintainer relies on: no import loop, and one door to the store.

Read from the source (``ast``), so that a change that breaks a seam fails here with the module
and line, whatever the tests of behaviour cover.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "projections", "api", "infra")


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules a file imports, at any depth of its code (a function's import
    too), except under ``if TYPE_CHECKING``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in modules}


def test_no_module_imports_itself_through_others() -> None:
    modules = project_modules()
    graph = {name: imports(path, modules) - {name} for name, path in modules.items()}
    loops: list[list[str]] = []

    def walk(name: str, trail: list[str], done: set[str]) -> None:
        for target in sorted(graph[name]):
            if target in trail:
                loops.append([*trail[trail.index(target) :], target])
            elif target not in done:
                walk(target, [*trail, target], done)
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        walk(name, [name], done)

    assert not loops, "import loops: " + "; ".join(" -> ".join(loop) for loop in loops[:5])


def test_only_the_application_and_the_recorders_touch_the_recorder_and_the_mapper() -> None:
    allowed = {ROOT / "domain" / "application.py"}
    offenders = []
    for path in project_modules().values():
        if path in allowed or (ROOT / "infra" / "recorders") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("recorder", "mapper"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    for path in (ROOT / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("recorder", "mapper"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")

    assert not offenders, "reach the store through CaseLedger: " + ", ".join(offenders)
