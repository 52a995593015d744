"""One way to do each thing: no import cycle in ftkit, and one client for every page and command."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest
from apptest_support import on_page

from ftkit.__main__ import main
from ftkit.providers import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, SETTING_NAMES
from tests.fake_chat import serve
from tests.fake_openai import KEY, FakeOpenAI, Request, shared_fake

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ftkit"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


def _imported(node: ast.AST, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """Return (module, names) for every import under ``node``, lazy ones included."""
    found: list[tuple[str, list[str]]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            children: list[ast.AST] = list(child.orelse)  # the typing-only branch never runs
        elif isinstance(child, ast.Import):
            found += [(alias.name, []) for alias in child.names]
            continue
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                package = module.split(".")[: None if is_package else -1]
                package = package[: len(package) - child.level + 1]
                base = ".".join([*package, base] if base else package)
            found.append((base, [alias.name for alias in child.names]))
            continue
        else:
            children = [child]
        for grandchild in children:
            found += _imported(grandchild, module, is_package)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Return each ``ftkit`` module and the ``ftkit`` modules it imports at run time.

    ``from ftkit import sub`` names the submodule ``ftkit.sub``; ``from ftkit.sub import x``
    names ``ftkit.sub`` (and ``ftkit.sub.x`` when that is a module).
    """
    paths = {_module_name(path, package.parent): path for path in package.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named: set[str] = set()
        for base, names in _imported(tree, name, path.name == "__init__.py"):
            submodules = {f"{base}.{n}" for n in names if f"{base}.{n}" in paths}
            named |= submodules
            if len(submodules) < len(names) or not names:
                named.add(base)
        graph[name] = {other for other in named if other in paths and other != name}
    return graph


def test_no_ftkit_module_imports_itself_through_others() -> None:
    graph = import_graph(PACKAGE)
    assert "ftkit.history.recording" in graph and "ftkit.providers" in graph
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        pytest.fail(f"import cycle: {' -> '.join(err.args[1])}")


def test_the_cycle_check_finds_a_lazy_import_back(tmp_path: Path) -> None:
    package = tmp_path / "ftkit"
    package.mkdir()
    (package / "a.py").write_text("from ftkit.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from ftkit import a\n")
    (package / "c.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    import ftkit.a\n")
    graph = import_graph(package)
    assert graph["ftkit.a"] == {"ftkit.b"} and graph["ftkit.b"] == {"ftkit.a"}
    assert graph["ftkit.c"] == set()


def _sdk_constructions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
        in {"OpenAI", "AzureOpenAI"}
    ]


def test_only_the_provider_module_constructs_the_sdk_client() -> None:
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "app_pages").glob("*.py")]
    sources.append(ROOT / "streamlit_app.py")
    builders = {str(p.relative_to(ROOT)) for p in sources if _sdk_constructions(p)}
    assert builders == {"ftkit/providers.py"}


# ---- every page and command: the same timeout and the same retries ---------------------------


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeOpenAI:
    monkeypatch.chdir(tmp_path)
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    server = shared_fake()
    server.inject("GET", "/models", "429", times=DEFAULT_MAX_RETRIES)  # the last try succeeds
    return server


def _model_listings(fake: FakeOpenAI) -> list[Request]:
    return [r for r in fake.requests if r.method == "GET" and r.path.endswith("/models")]


def _assert_one_setting(requests: list[Request]) -> None:
    """Rate-limited DEFAULT_MAX_RETRIES times, the client tried once more, with one timeout."""
    assert len(requests) == 1 + DEFAULT_MAX_RETRIES
    timeouts = {float(r.headers["x-stainless-read-timeout"]) for r in requests}
    assert timeouts == {DEFAULT_TIMEOUT}


def test_the_models_command_retries_and_waits_as_every_client_does(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert main(["models", "--base-url", fake.url, "--json"]) == 0
    assert "gpt-4o-mini-2024-07-18" in capsys.readouterr().out
    _assert_one_setting(_model_listings(fake))


def test_the_upload_page_retries_and_waits_as_every_client_does(fake: FakeOpenAI) -> None:
    at = on_page("train", timeout=30)
    at.session_state["openai_api_key"] = KEY
    at.session_state["openai_base_url"] = fake.url
    at.run()
    next(b for b in at.button if b.key == "upload_lists").click().run()
    assert not at.error and not at.exception
    _assert_one_setting(_model_listings(fake))


def test_a_keyless_chat_server_gets_a_placeholder_and_fine_tuning_still_needs_a_key(
    fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(lambda body, attempt: ("answer", "25.00")) as chat:
        argv = ["evaluate", "--model", "m", "--base-url", chat.url, "--size", "2", "--no-save"]
        assert main([*argv, "--no-history"]) == 0
    assert set(chat.authorizations) == {"Bearer not-needed"}
    capsys.readouterr()
    assert main(["jobs", "list", "--base-url", fake.url]) == 2
    assert "set OPENAI_API_KEY" in capsys.readouterr().err
    assert main(["models", "--base-url", fake.url, "--json"]) == 0
    assert "no API key set" in capsys.readouterr().err and not _model_listings(fake)
