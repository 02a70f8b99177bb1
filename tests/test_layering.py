"""The import graph keeps its layers: read every library module with ``ast`` (nothing is imported)
and check the arrows.

- ``sentio.runtime`` never imports ``sentio.export``;
- the runtime's core never imports its outputs (``sentio.runtime.outputs``): an output reads
  predictions, the core never knows who does (only ``sentio.runtime.cli`` wires them);
- no library module imports a CLI (``sentio.runtime.cli``, ``sentio.export.cli``);
- ``sentio.export`` runs data < model < evaluation < conversion < analyze/pipelines < cli: no
  arrow back up;
- no CLI command imports another (only the shared ``common`` and ``options``);
- no import circles, counting imports inside functions too.

``python -m tests.test_layering`` prints the counts (circles, arrows back up, imports inside
functions in library code).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"runtime": "sentio.runtime", "export": "sentio.export"}

# export/'s layers, lowest first. A module may import its own layer or a lower one. Modules
# outside the subpackages (``sentio.export``, ``distributed``, ``quiet``) sit at the bottom;
# ``recipes`` (settings files, the run config made of the pipelines' configs) beside the
# pipelines; the CLIs on top.
EXPORT_LAYERS = {
    "data": 1,
    "model": 2,
    "evaluation": 3,
    "conversion": 4,
    "recipes": 6,
    "analyze": 6,
    "pipelines": 6,
    "cli": 7,
}
CLI_MODULES = ("sentio.runtime.cli", "sentio.export.cli")
#: What a command may import of the CLIs: their shared option and exit-code helpers.
CLI_HELPERS = ("sentio.export.cli.common", "sentio.export.cli.options")
#: Command -> command imports that are by design: the console-script dispatcher, and a
#: subcommand of ``sentio-train`` kept in its own file.
CLI_DISPATCH = {"sentio.export.cli.entry"}
SUBCOMMANDS = {("sentio.export.cli.train", "sentio.export.cli.cv")}


def module_files() -> dict[str, Path]:
    """Every library module name -> its file."""
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The library module an imported name lives in (``a.b.c`` -> ``a.b`` if ``c`` is a name)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(modules: dict[str, Path] | None = None) -> list[tuple[str, str, bool, int]]:
    """(importer, imported library module, inside a function, line) for every import of a
    library module; imports under ``if TYPE_CHECKING:`` are left out (they never run)."""
    modules = modules or module_files()
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"

        def visit(node: ast.AST, in_function: bool, name=name, is_package=is_package) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _is_type_checking(child):
                    for sub in child.orelse:
                        visit(sub, in_function)
                    continue
                inner = in_function or isinstance(
                    child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
                )
                targets: list[str] = []
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                elif isinstance(child, ast.ImportFrom):
                    if child.level:
                        base = name.split(".")
                        base = base if is_package else base[:-1]
                        base = base[: len(base) - (child.level - 1)]
                        prefix = ".".join(base + ([child.module] if child.module else []))
                    else:
                        prefix = child.module or ""
                    targets = [f"{prefix}.{alias.name}" for alias in child.names]
                for target in targets:
                    resolved = _resolve(target, modules)
                    if resolved and resolved != name:
                        found.append((name, resolved, inner, child.lineno))
                visit(child, inner)

        visit(tree, False)
    return found


def export_layer(module: str) -> int | None:
    if not module.startswith("sentio.export"):
        return None
    parts = module.split(".")
    if len(parts) < 3:
        return 0
    return EXPORT_LAYERS.get(parts[2], 0)


def _is_cli(module: str) -> bool:
    return any(module == cli or module.startswith(cli + ".") for cli in CLI_MODULES)


def runtime_to_export(edges) -> list[tuple[str, str, int]]:
    return [
        (a, b, line)
        for a, b, _, line in edges
        if a.startswith("sentio.runtime") and b.startswith("sentio.export")
    ]


#: The runtime's outputs: what reads predictions. Only they and the CLI import them.
OUTPUTS = "sentio.runtime.outputs"


def core_to_outputs(edges) -> list[tuple[str, str, int]]:
    """The runtime's core (every runtime module but its outputs and its CLI) importing an
    output."""
    return [
        (a, b, line)
        for a, b, _, line in edges
        if a.startswith("sentio.runtime")
        and not (a == OUTPUTS or a.startswith(OUTPUTS + "."))
        and not _is_cli(a)
        and (b == OUTPUTS or b.startswith(OUTPUTS + "."))
    ]


def library_to_cli(edges) -> list[tuple[str, str, int]]:
    return [(a, b, line) for a, b, _, line in edges if _is_cli(b) and not _is_cli(a)]


def command_to_command(edges) -> list[tuple[str, str, int]]:
    """A CLI command importing another command (not a shared helper): the pipeline a command
    needs lives in the library, never in another command."""
    return [
        (a, b, line)
        for a, b, _, line in edges
        if _is_cli(a)
        and _is_cli(b)
        and b not in CLI_HELPERS
        and a not in CLI_DISPATCH
        and (a, b) not in SUBCOMMANDS
    ]


def arrows_back_up(edges) -> list[tuple[str, str, int]]:
    """Imports from a lower export layer to a higher one."""
    out = []
    for a, b, _, line in edges:
        la, lb = export_layer(a), export_layer(b)
        if la is not None and lb is not None and lb > la:
            out.append((a, b, line))
    return out


def circles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), sorted."""
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(found)


def function_imports(modules: dict[str, Path] | None = None) -> list[tuple[str, int, str]]:
    """Every import statement inside a function in library code (CLIs excluded), of any
    module: (module, line, what it imports)."""
    modules = modules or module_files()
    out = []
    for name, path in modules.items():
        if _is_cli(name):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    out.append((name, node.lineno, ", ".join(a.name for a in node.names)))
                elif isinstance(node, ast.ImportFrom):
                    out.append((name, node.lineno, "." * node.level + (node.module or "")))
    # A nested function's imports are walked from each enclosing function: count each once.
    return sorted(set(out))


def test_runtime_never_imports_export():
    assert runtime_to_export(imports()) == []


def test_the_runtime_core_never_imports_an_output():
    assert core_to_outputs(imports()) == []


def test_library_never_imports_a_cli():
    assert library_to_cli(imports()) == []


def test_no_command_imports_another_command():
    assert command_to_command(imports()) == []


def test_export_layers_never_point_back_up():
    assert arrows_back_up(imports()) == []


def test_no_import_circles():
    assert circles(imports()) == []


def test_the_checker_sees_the_known_arrows():
    """The checker is not vacuous: it finds the imports the code is made of."""
    edges = {(a, b) for a, b, _, _ in imports()}
    assert ("sentio.export.model.crnn", "sentio.export.model.config") in edges or any(
        a.startswith("sentio.export.model") for a, _ in edges
    )
    assert ("sentio.runtime.engine", "sentio.runtime.features") in edges
    assert export_layer("sentio.export.data.datasets") < export_layer("sentio.export.cli.train")
    assert (
        export_layer("sentio.export.conversion.exporter")
        < export_layer("sentio.export.pipelines.train")
        < export_layer("sentio.export.cli.train")
    )
    assert command_to_command([("sentio.export.cli.export", "sentio.export.cli.train", False, 1)])
    assert ("sentio.runtime.outputs.e131", "sentio.runtime.color") in edges
    assert core_to_outputs([("sentio.runtime.emotion", "sentio.runtime.outputs.color", False, 1)])
    assert not core_to_outputs([("sentio.runtime.cli", "sentio.runtime.outputs.sinks", False, 1)])
    assert arrows_back_up([("sentio.export.data.x", "sentio.export.cli.y", False, 1)])
    assert circles([("a", "b", True, 1), ("b", "a", False, 2)]) == [["a", "b"]]


if __name__ == "__main__":
    edges = imports()
    print("circles:", circles(edges))
    print("arrows back up:", arrows_back_up(edges))
    print("runtime -> export:", runtime_to_export(edges))
    print("runtime core -> outputs:", core_to_outputs(edges))
    print("library -> cli:", library_to_cli(edges))
    print("command -> command:", command_to_command(edges))
    inside = function_imports()
    print("imports inside functions in library code:", len(inside))
    for entry in inside:
        print("  ", *entry)
