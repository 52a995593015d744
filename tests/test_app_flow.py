"""The journey between pages: each page's next step, values kept, choices carried forward."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_support import ROOT, assert_clean, errors, goto, metrics, open_app
from streamlit.testing.v1 import AppTest

from ftkit.dataset.messages import DEFAULT_USER_TEMPLATE
from ftkit.dataset.prepare import TRAIN_FILENAME, VALIDATION_FILENAME
from ftkit.ui import state


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)


@pytest.mark.parametrize(
    ("page", "heading", "link"),
    [
        ("data", "Data", "Next: Compose"),
        ("compose", "Compose", "Next: Messages"),
        ("messages", "Messages", "Next: Check"),
        ("check", "Check", "Next: Export"),
        ("export", "Export", "Next: Train"),
    ],
)
def test_each_page_has_one_heading_and_ends_with_the_next_step(
    page: str, heading: str, link: str
) -> None:
    at = open_app(page)
    assert_clean(at)
    assert [h.value for h in at.header] == [heading]
    assert not at.title
    assert [p.value for p in at.page_link] == [link]


def test_export_links_to_the_train_page_that_exists() -> None:
    at = open_app("export")
    [link] = at.page_link
    assert (ROOT / "app_pages" / f"{link.proto.page}.py").is_file()


def test_check_model_and_epochs_are_kept_and_carried_to_the_job_form() -> None:
    at = open_app("check")
    at.selectbox(key="check_model").select("gpt-3.5-turbo-0125").run()
    at.selectbox(key="check_epochs").select(3).run()
    goto(at, "data")
    goto(at, "check")
    assert at.selectbox(key="check_model").value == "gpt-3.5-turbo-0125"
    assert at.selectbox(key="check_epochs").value == 3
    assert at.session_state[state.CHECK_MODEL] == "gpt-3.5-turbo-0125"
    assert at.session_state[state.EPOCHS] == 3


def test_check_offers_auto_epochs_by_name() -> None:
    at = open_app("check")
    epochs = at.selectbox(key="check_epochs")
    assert epochs.options[0] == "auto" and epochs.options[1:4] == ["1", "2", "3"]
    epochs.select("auto").run()
    assert at.session_state[state.EPOCHS] == "auto"
    assert metrics(at)["Epochs"].isdigit()  # the number OpenAI's rule picks


def test_compose_fields_are_kept_across_pages() -> None:
    at = open_app("compose")
    at.text_area(key="compose_user").input("{title}\n\n{description}").run()
    at.selectbox(key="compose_strategy").select("random").run()
    at.number_input(key="compose_seed").set_value(7).run()
    goto(at, "messages")
    goto(at, "compose")
    assert at.text_area(key="compose_user").value == "{title}\n\n{description}"
    assert at.selectbox(key="compose_strategy").value == "random"
    assert at.number_input(key="compose_seed").value == 7


def test_a_bad_template_shows_its_error_under_the_field_and_keeps_the_last_preview() -> None:
    at = open_app("compose")
    before = at.chat_message[1].text[0].value  # the first example's user message
    at.text_area(key="compose_user").input("{title} costs {cost}").run()
    assert not at.exception
    editor = at.columns[0]
    assert [as_text.value for as_text in editor.error] == errors(at)
    assert errors(at)[0].startswith("user template: unknown field {cost}")
    assert at.chat_message[1].text[0].value == before  # the last good preview stays
    assert any("last templates that worked" in c.value for c in at.caption)
    at.text_area(key="compose_user").input(DEFAULT_USER_TEMPLATE).run()
    assert_clean(at)


def test_the_typed_local_path_is_kept_across_pages(tmp_path: Path) -> None:
    at = open_app("data")
    missing = str(tmp_path / "train.pkl")
    at.text_input(key="data_path").input(missing)
    at.button[0].click().run()  # Load: a missing file is one error line
    goto(at, "compose")
    goto(at, "data")
    assert at.text_input(key="data_path").value == missing


def write(at: AppTest, folder: Path) -> AppTest:
    at.text_input(key="export_folder").input(str(folder))
    return at.button[0].click().run()


def test_written_files_are_shown_first_and_carried_to_upload(tmp_path: Path) -> None:
    at = write(open_app("export"), tmp_path)
    assert_clean(at)
    headings = [h.value for h in at.subheader]
    assert headings[0] == "Written files"
    assert headings.index("Written files") < headings.index("Other trainers")
    assert at.session_state[state.EXPORTED_FILES] == {
        "training": str(tmp_path / TRAIN_FILENAME),
        "validation": str(tmp_path / VALIDATION_FILENAME),
    }


def test_a_failed_write_clears_the_written_files(tmp_path: Path) -> None:
    at = write(open_app("export"), tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    write(at, blocker / "out")
    assert not at.exception and len(errors(at)) == 1
    assert "Written files" not in [h.value for h in at.subheader]
    assert at.session_state[state.EXPORTED_FILES] is None
    assert at.session_state[state.EXPORT_TRAIN_PATH] is None
