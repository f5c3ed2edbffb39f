"""The package's shape: no import cycles, and the plan read by key only by its own reader.

Both read the source as text (``ast``), import nothing and take well under a second.
"""

import ast
import re
from pathlib import Path

import lofi_assets

PACKAGE_DIR = Path(lofi_assets.__file__).parent
PLAN_READER = PACKAGE_DIR / "music" / "plan_record.py"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports, lazy (function-level) imports included:
    a cycle closed inside a function is still a cycle, only one that fails later."""
    paths = {_module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    imported.add(submodule if submodule in paths else base)
        graph[name] = {module for module in imported if module in paths and module != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            component.append(module)
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return components


def test_lofi_assets_has_no_import_cycles():
    graph = _import_graph()
    assert "lofi_assets.definitions" in graph and len(graph) > 50  # the walk found the package
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


# `plan["style"]`, `plan_doc.get("key")`: the plan read as a dict by key.
PLAN_DICT_READ = re.compile(r"\bplan\w*(\[\s*['\"]|\.get\(\s*['\"])")


def test_only_the_plan_reader_reads_the_plan_by_key():
    readers = [
        f"{path.relative_to(PACKAGE_DIR)}:{number}"
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if path != PLAN_READER
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PLAN_DICT_READ.search(line)
    ]
    assert readers == []
    assert PLAN_DICT_READ.search('tempo = plan["bpm"]') and PLAN_DICT_READ.search(
        "plan_doc.get('key')"
    )
