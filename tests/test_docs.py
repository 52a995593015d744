"""The docs stay true: links resolve, named files and modules exist, the test command is CI's."""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "ftkit/data/README.md"]

# Files docs/benchmarks.md names as removed in issue 15: they must stay mentioned there and absent.
REMOVED = {
    "ftkit/pickle_frames.py",
    "ftkit/pickle_halves.py",
    "ftkit/cli/halves.py",
    "ftkit/cli/pickle_child.py",
    "ftkit/cli/recorder.py",
    "tests/test_cli_halves.py",
    "tests/test_pickle_halves.py",
    "tests/test_cli_recorder.py",
}

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PATH = re.compile(
    r"(?<![\w./<>-])((?:ftkit|app_pages|tests|benchmarks|tools)/[\w/.-]*\.(?:py|json|md|gz))"
)
MODULE = re.compile(r"(?<![\w./<>-])(ftkit(?:\.[A-Za-z_]\w*)+)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _ids(paths: list[Path]) -> list[str]:
    """Return test ids: each path relative to the checkout."""
    return [str(path.relative_to(ROOT)) for path in paths]


def _text(path: Path) -> str:
    """Return the doc's text."""
    return path.read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    plain = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")


def headings(doc: Path) -> list[str]:
    """Return ``doc``'s headings, leaving out ``#`` comments in fenced code blocks."""
    return HEADING.findall(FENCE.sub("", _text(doc)))


def anchors(doc: Path) -> set[str]:
    """Return the anchors of ``doc``'s headings."""
    return {slug(heading) for heading in headings(doc)}


def broken_links(doc: Path) -> list[str]:
    """Return each relative link in ``doc`` whose file, or heading after ``#``, does not exist."""
    broken = []
    for target in LINK.findall(_text(doc)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    return broken


def missing_paths(doc: Path) -> list[str]:
    """Return each project path ``doc`` names (``ftkit/x/y.py``...) that is not in the tree."""
    names = set(PATH.findall(_text(doc))) - REMOVED
    return sorted(name for name in names if not (ROOT / name).exists())


def resolves(dotted: str) -> bool:
    """Say whether ``ftkit.a.b.c`` is a module, or a module's attribute (``ftkit.prepare``)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(value, name):
                return False
            value = getattr(value, name)
        return True
    return False


def unknown_modules(doc: Path) -> list[str]:
    """Return each dotted ``ftkit.`` name in ``doc`` that is neither a module nor an attribute."""
    return sorted(name for name in set(MODULE.findall(_text(doc))) if not resolves(name))


def readme_test_command() -> str:
    """Return the one command in the README's "## Tests" section."""
    section = _text(ROOT / "README.md").split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ")]
    assert len(commands) == 1, f"README's Tests section shows {len(commands)} commands, not 1"
    return commands[0]


def ci_test_command() -> str:
    """Return the command ``.ci/run`` runs as the README's, without its exit-status capture."""
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    found = [line.removesuffix(" || status=$?") for line in lines if line.endswith("|| status=$?")]
    assert len(found) == 1, f".ci/run has {len(found)} test commands, not 1"
    return found[0]


def dashboard_pages() -> list[str]:
    """Return the titles of the pages ``streamlit_app.py`` routes to, read from its source."""
    tree = ast.parse((ROOT / "streamlit_app.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "PAGES":
            assert node.value is not None
            return [title for _, title, _ in ast.literal_eval(node.value)]
    raise AssertionError("streamlit_app.py has no PAGES")


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_relative_link_points_to_a_file_and_heading(doc: Path) -> None:
    assert broken_links(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_project_path_named_exists(doc: Path) -> None:
    assert missing_paths(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=_ids(DOCS))
def test_every_dotted_ftkit_name_is_a_module_or_attribute(doc: Path) -> None:
    assert unknown_modules(doc) == []


def test_removed_files_are_named_by_the_benchmarks_page_and_gone() -> None:
    text = _text(ROOT / "docs" / "benchmarks.md")
    for name in sorted(REMOVED):
        assert name.rsplit("/", 1)[1] in text, name
        assert not (ROOT / name).exists(), name


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    assert readme_test_command() == ci_test_command()
    assert readme_test_command() == "pip install -r requirements-dev.txt && pytest"


def test_the_readme_reads_in_one_sitting() -> None:
    lines = _text(ROOT / "README.md").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move detail into docs/"


def test_the_dashboard_page_describes_every_page() -> None:
    pages = dashboard_pages()
    assert len(pages) == 8
    assert [page for page in pages if page not in headings(ROOT / "docs" / "dashboard.md")] == []


def test_the_ftkit_script_the_readme_names_runs_the_cli() -> None:
    from ftkit.cli import main

    assert "`ftkit COMMAND`" in _text(ROOT / "README.md")
    scripts = tomllib.loads(_text(ROOT / "pyproject.toml"))["project"]["scripts"]
    module, _, name = scripts["ftkit"].partition(":")
    assert getattr(importlib.import_module(module), name, None) is main


def test_the_readme_names_every_command() -> None:
    from ftkit.cli import COMMANDS

    table = _text(ROOT / "README.md").split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    assert [name for name in COMMANDS if f"| `{name}" not in table] == []


def test_the_preflight_page_lists_every_rule() -> None:
    from ftkit.preflight.rules import RULES

    text = _text(ROOT / "docs" / "preflight.md")
    assert [code for code in RULES if f"`{code}`" not in text] == []


def test_the_architecture_page_lists_every_module() -> None:
    text = _text(ROOT / "docs" / "architecture.md")
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "ftkit").rglob("*.py"))
    unlisted = [m for m in modules if f"`{m.removeprefix('ftkit/')}`" not in text]
    assert unlisted == []


def test_the_checks_catch_what_they_guard(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Top\n[ok](doc.md#top) [gone](missing.md) [bad anchor](doc.md#nowhere)\n"
        "```\n# nowhere\n```\n"
        "`ftkit/check.py` and `ftkit/sources/load.py`; ftkit.check, ftkit.prepare, "
        "ftkit.dataset.prepare.write_split and ftkit.providers.no_such_name.\n",
        encoding="utf-8",
    )
    assert broken_links(doc) == ["missing.md", "doc.md#nowhere"]
    assert missing_paths(doc) == ["ftkit/check.py"]
    assert unknown_modules(doc) == ["ftkit.check", "ftkit.providers.no_such_name"]
