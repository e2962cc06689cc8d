"""The layout shows the architecture: scripts on top, the signlang package below them, no import circles.

The import graph is read from the source (ast), imports inside functions included: a circle dodged by a
late import is still a circle.
"""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("signlang", "bench")
# What a user runs: the seed's steps and prepare_demo, names and commands as users know them.
SCRIPTS = {"prepare_chalearn", "prepare_demo", "frame", "opticalflow", "datagenerator", "model_i3d", "train_i3d",
           "pipeline_i3d", "videocapture", "livedemo", "predict", "feature", "model_mobile", "model_lstm",
           "train_mobile_lstm", "pipeline_mobile_lstm", "hands"}


def module_files() -> dict[str, Path]:
    """{dotted module name: file} of every script, package module and benchmark."""
    files = {path.stem: path for path in REPO.glob("*.py")}
    for package in PACKAGES:
        for path in (REPO / package).glob("*.py"):
            files[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return files


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports anywhere in its body (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {name: imports_of(path, known) - {name} for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_circle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]


def test_the_imports_form_no_circle():
    assert circles(import_graph()) == []


def test_the_package_never_imports_a_script():
    graph = import_graph()
    offending = {name: sorted(graph[name] & SCRIPTS) for name in graph if name.startswith("signlang")}
    assert {name: found for name, found in offending.items() if found} == {}


def test_nothing_imports_a_pipeline_or_a_benchmark_outside_bench_and_tests():
    graph = import_graph()
    for name, imported in graph.items():
        assert not {"pipeline_i3d", "pipeline_mobile_lstm"} & imported, name
        if not name.startswith("bench"):
            assert not {other for other in imported if other.startswith("bench")}, name


def test_the_top_level_holds_only_the_scripts_a_user_runs():
    assert {path.stem for path in REPO.glob("*.py")} == SCRIPTS
    for name in sorted(SCRIPTS):
        tree = ast.parse((REPO / f"{name}.py").read_text())
        functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert "main" in functions, f"{name}.py has no main()"
        assert any(isinstance(node, ast.If) and "__main__" in ast.dump(node.test) for node in tree.body), name


def test_every_module_says_its_one_job_in_its_first_docstring_line():
    for name, path in module_files().items():
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring and docstring.splitlines()[0].strip(), f"{path} has no first docstring line"
