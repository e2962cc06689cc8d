"""The README tells the truth about the tree: its tables, links, commands and paths name what exists."""
import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
MAX_README_LINES = 300  # a manual; the measurement history lives in docs/ (issue 20)

# `python frame.py ...`, `.venv/bin/python -m bench.i3d ...`: (module, script) pairs, one of them empty
COMMAND = re.compile(r"\bpython3?(?:\.\d+)?\s+(?:-m\s+([A-Za-z_][\w.]*)|([\w./-]+\.py)\b)")
CODE = re.compile(r"`([^`\n]+)`|^ {4}(.+)$", re.MULTILINE)  # inline code spans and indented code lines


def first_docstring_line(path: Path) -> str:
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring, f"{path.relative_to(REPO)} has no module docstring"
    return docstring.splitlines()[0]


def table_rows(text: str, header: str) -> list[str]:
    """The body rows of the markdown table whose header line is `header` (up to the next blank line)."""
    assert header in text, f"README has no table headed {header!r}"
    block = text[text.index(header):]
    end = block.find("\n\n")
    lines = (block if end == -1 else block[:end]).splitlines()
    return lines[2:]  # past the header and the |---| line


def code_text(text: str) -> str:
    return "\n".join(span or line for span, line in CODE.findall(text))


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_readme_is_a_manual_of_at_most_300_lines():
    num_lines = len(README.read_text().splitlines())
    assert num_lines <= MAX_README_LINES, f"README.md has {num_lines} lines; move history and studies to docs/"


def test_where_things_are_lists_every_library_module_with_its_one_job():
    rows = table_rows(README.read_text(), "| module | its one job |")
    jobs = dict(re.findall(r"^\| `(signlang/[^`]+\.py)` \| (.*) \|$", "\n".join(rows), re.MULTILINE))
    assert len(jobs) == len(rows), "every row of the module table is | `signlang/<module>.py` | <job> |"
    modules = sorted(f"signlang/{path.name}" for path in (REPO / "signlang").glob("*.py")
                     if path.name != "__init__.py")  # the package itself is described above the table
    assert sorted(jobs) == modules
    for name, job in jobs.items():
        assert job == first_docstring_line(REPO / name), name


def test_scripts_table_has_one_row_per_top_level_script_with_its_command():
    rows = table_rows(README.read_text(), "| script | command | its one job |")
    cells = [re.match(r"^\| `([^`/]+\.py)` \| (.+?) \| (.+) \|$", row) for row in rows]
    assert all(cells), [row for row, cell in zip(rows, cells) if not cell]
    names = [cell[1] for cell in cells]
    assert sorted(names) == sorted(path.name for path in REPO.glob("*.py"))
    for name, command in ((cell[1], cell[2]) for cell in cells):
        assert f"python {name}" in command, f"the scripts table's row of {name} does not give its command"


def test_every_docs_link_in_the_readme_points_to_a_file():
    readme = README.read_text()
    named = set(re.findall(r"(?<![\w./-])docs/[\w./-]+\.md", readme))
    assert named, "the README links its history in docs/"
    assert sorted(name for name in named if not (REPO / name).is_file()) == []
    assert sorted(f"docs/{path.name}" for path in DOCS.glob("*.md")) == sorted(named), "a docs file nothing links"


def test_every_relative_link_in_the_docs_points_to_a_file():
    for doc in sorted(DOCS.glob("*.md")):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" not in target:
                assert (doc.parent / target).is_file(), f"{doc.name} links {target}"


def test_every_python_command_names_a_file_that_exists():
    checked = 0
    for doc in markdown_files():
        for module, script in COMMAND.findall(doc.read_text()):
            if script:
                path = REPO / script  # commands run from the repository root
            elif (REPO / module.split(".")[0]).is_dir():  # one of ours: bench.i3d -> bench/i3d.py
                path = REPO / (module.replace(".", "/") + ".py")
            else:
                continue  # python -m pytest, pip, ...
            assert path.is_file(), f"{doc.relative_to(REPO)} runs {module or script}, but {path} does not exist"
            checked += 1
    assert checked > 20


def test_every_make_target_named_exists():
    targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.MULTILINE))
    for doc in markdown_files():
        for target in re.findall(r"\bmake ([a-z][\w-]*)", code_text(doc.read_text())):
            assert target in targets, f"{doc.relative_to(REPO)} names `make {target}`, which the Makefile lacks"


def test_shared_data_paths_in_the_readme_exist(shared_data):
    for name in (found.rstrip(".") for found in re.findall(r"\.\./shared/data/[\w./-]+", README.read_text())):
        assert (shared_data / name.removeprefix("../shared/data/")).exists(), name
