"""Text from files, endpoints and other people shows as typed: never as markdown, HTML or math.

Streamlit renders markdown in errors, notices, captions and button labels. A column header
``![x](https://tracker.example/x.png)`` would otherwise make the browser fetch that image, and
a teammate's model name would do the same in everyone's History page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptest_support import APP, as_read, assert_clean, goto
from streamlit.testing.v1 import AppTest

import ftkit.history as history
from ftkit.evaluation.saved import MAX_RUN_FILE_MB
from ftkit.history import Scope, list_runs, open_store, record_run
from ftkit.ui import state
from ftkit.ui.markdown import code, literal
from tests.test_ui_auth import AUTH

TRACKER = "![x](https://tracker.example/x.png)"
HOSTILE = f"{TRACKER} [click](https://evil.example) <b>bold</b> $x^2$ `code`"
# a markdown-special character with no backslash before it (an even run of them escapes nothing)
_MARKUP = re.compile(r"(?<!\\)(?:\\\\)*[\[\]<>$`]")
PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
)


def markup(text: str) -> list[str]:
    """Return the characters in ``text`` that Streamlit's markdown would treat as markup."""
    return _MARKUP.findall(text)


@pytest.fixture(autouse=True)
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    for name in (state.HOSTED_ENV, "FTKIT_ALLOWED_EMAILS", "FTKIT_ALLOWED_DOMAINS", *PROVIDER_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    history.close_all()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (TRACKER, r"!\[x\](https://tracker.example/x.png)"),
        ("<b>x</b> costs $5", r"\<b\>x\</b\> costs \$5"),
        ("a\\[b] `c` *d*", r"a\\\[b\] \`c\` \*d\*"),
        ("one\n# two", r"one \# two"),
        ("fine_tune_train.jsonl: 3 lines", "fine_tune_train.jsonl: 3 lines"),
    ],
)
def test_literal_escapes_what_starts_markup_and_keeps_one_line(raw: str, shown: str) -> None:
    assert literal(raw) == shown
    assert not markup(literal(raw))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("gpt-4o-mini", "`gpt-4o-mini`"),
        (TRACKER, f"`{TRACKER}`"),
        ("ft:a`b", "``ft:a`b``"),  # a fence longer than any backtick run inside
        ("`x", "`` `x ``"),
    ],
)
def test_code_puts_a_name_in_a_span_no_backtick_can_close(raw: str, shown: str) -> None:
    assert code(raw) == shown


def test_a_hostile_header_is_shown_as_text_in_the_upload_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    rows = "".join(f"Thing {n},A long enough description of thing {n},{n + 10}\n" for n in range(9))
    table = f'"{HOSTILE}",Blurb,=1+1\n{rows}'.encode()
    at.file_uploader(key="data_upload").set_value(("shop.csv", table, "text/csv"))
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("shop.csv: no price column")
    assert literal(TRACKER) in error and not markup(error)
    headings = [m.value for m in at.markdown if "Map the columns" in m.value]
    assert headings == ["**Map the columns of shop.csv**"]


def _teammates() -> tuple[AppTest, int]:
    """Open History as ana (team visibility) after bo recorded a run with hostile names."""
    secrets = {
        "auth": AUTH,
        "ftkit": {"allowed_domains": ["example.com"], "history_visibility": "team"},
    }
    bo = open_store().scoped(Scope("bo@example.com", "signed-in", team=True))
    settings = {
        "model": HOSTILE,
        "size": 5,
        "source": "sample",
        "base_url": f"https://llm.example/{TRACKER}",
    }
    run_id = record_run("evaluate", settings, {}, user="bo@example.com", store=bo)
    ana = AppTest.from_file(str(APP), default_timeout=60)
    ana.secrets = secrets
    ana.user = {"is_logged_in": True, "email": "ana@example.com", "email_verified": True}
    ana.run()
    goto(ana, "history")
    assert_clean(ana)
    return ana, run_id


def _shown_markdown(at: AppTest) -> list[str]:
    """Return every text the page renders as markdown, button labels included."""
    boxes = (*at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error)
    return [e.value for e in boxes] + [b.label for b in at.button] + [c.label for c in at.checkbox]


def test_a_teammates_model_and_endpoint_are_shown_as_text_on_history() -> None:
    ana, run_id = _teammates()
    assert ana.selectbox(key="history_open").value == run_id
    notice = ana.info[0].value
    assert notice.startswith(f"Re-running run {run_id} asks {code(HOSTILE)}")

    ana.session_state["openai_api_key"] = "sk-ana-0123456789"
    ana.run()
    assert_clean(ana)
    (warning,) = [w.value for w in ana.warning]
    assert code(HOSTILE) in warning
    assert [b.label for b in ana.button if b.key == "history_rerun"] == [
        f"Re-run: send 5 paid requests to {code(HOSTILE)}"
    ]
    outside_code = [re.sub(r"(`+) .*? \1|(`+)[^`]*\2", "", text) for text in _shown_markdown(ana)]
    assert all(not markup(text) for text in outside_code), outside_code
    assert [r.id for r in list_runs(kind="evaluate")] == [run_id]  # nothing was sent


def test_an_unreadable_price_table_is_one_line_with_no_server_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "secret-folder" / "prices.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    monkeypatch.setenv("FTKIT_PRICES", str(broken))
    monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    goto(at, "evaluate")
    at.selectbox(key="evaluate_predictor").select_index(-1).run()
    at.text_input(key="evaluate_model").input("gpt-4o-mini").run()
    assert not at.exception, [e.message for e in at.exception]
    (error,) = [e.value for e in at.error]
    assert error.startswith("prices.json: price table is not valid JSON")
    assert "secret-folder" not in error and str(tmp_path) not in error


def _reopen(at: AppTest, name: str, data: bytes) -> list[str]:
    at.file_uploader(key="evaluate_reopen").set_value([(name, data, "application/json")])
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return [as_read(e.value) for e in at.error]


def test_a_saved_run_file_is_refused_unparsed_over_its_limit_and_bad_ones_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(state.HOSTED_ENV, "1")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    goto(at, "evaluate")
    bomb = b'{"model": "m", "items": [' + b"{}," * (MAX_RUN_FILE_MB * 2**20 // 3) + b"{}]}"
    assert _reopen(at, "bomb.json", bomb) == [
        f"bomb.json: {len(bomb) / 2**20:.1f} MB is over the {MAX_RUN_FILE_MB} MB limit for a "
        "saved run"
    ]
    assert _reopen(at, "empty.json", b"[]") == ["empty.json: not a saved ftkit run (no items list)"]
    assert _reopen(at, "broken.json", b"{") == [
        "broken.json: not valid JSON (unexpected end of data: line 1 column 2 (char 1))"
    ]
