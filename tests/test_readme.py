"""The README tells the truth about the tree: its "Where things are" table is every module's first docstring line."""
import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def first_docstring_line(path: Path) -> str:
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring, f"{path.name} has no module docstring"
    return docstring.splitlines()[0]


def test_where_things_are_lists_every_module_with_its_one_job():
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("| module | its one job |"):]
    table = table[:table.index("\n\n")]
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.*) \|$", table, re.MULTILINE))
    modules = sorted(p.name for p in REPO.glob("*.py"))
    assert sorted(name for name in rows if "/" not in name) == modules
    for name, job in rows.items():
        assert job == first_docstring_line(REPO / name), name
