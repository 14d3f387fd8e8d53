"""The package's structure: no import cycles, no issue numbers or machine paths in what is shipped."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import rpmbench

PACKAGE = Path(rpmbench.__file__).parent
REPO = PACKAGE.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere (functions included), except under
    ``if TYPE_CHECKING:`` (annotations only, never executed)."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    """Package module -> the package modules it imports (a package's ``__init__`` counts as the package)."""
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: _imports(path, set(files)) - {name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_by_hand() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "rpmbench.inference.propagate" in graph and len(graph) > 50
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_lower_floors_do_not_import_upper_ones() -> None:
    """Models, ops, data and evaluation never import inference, experiments, viz or commands;
    inference and training never import experiments."""
    upper = {"lower": ("rpmbench.ops", "rpmbench.models", "rpmbench.data", "rpmbench.evaluation"),
             "middle": ("rpmbench.inference", "rpmbench.training")}
    forbidden = {"lower": ("rpmbench.inference", "rpmbench.training", "rpmbench.experiments", "rpmbench.viz",
                           "rpmbench.commands"),
                 "middle": ("rpmbench.experiments", "rpmbench.commands")}
    for floor, prefixes in upper.items():
        for module, imported in import_graph().items():
            if module.startswith(prefixes):
                bad = sorted(name for name in imported if name.startswith(forbidden[floor]))
                assert not bad, f"{module} imports {bad}"


SHIPPED = [path for pattern in ("rpmbench/**/*.py", "rpmbench/**/*.yaml", "docs/**/*.md", "results/**/*.md",
                                "results/**/*.json", "results/**/*.csv", "README.md", "notebooks/*.ipynb")
           for path in REPO.glob(pattern)]


def test_no_issue_numbers_in_what_is_shipped() -> None:
    pattern = re.compile(r"\bissues? #?\d+\b", re.IGNORECASE)
    hits = [f"{path.relative_to(REPO)}: {match.group(0)}" for path in SHIPPED
            for match in pattern.finditer(path.read_text(errors="replace"))]
    assert not hits, hits[:10]


def test_no_machine_paths_in_what_is_shipped() -> None:
    """Committed files name paths relative to the repository, never a machine's folders."""
    pattern = re.compile(r"(?<![\w>)\]])(/work/|/home/\w|/root/|/tmp/[\w.]|/Users/\w)")
    hits = [f"{path.relative_to(REPO)}: {match.group(0)}" for path in SHIPPED
            for match in pattern.finditer(path.read_text(errors="replace"))]
    assert not hits, hits[:10]
