"""The Export page: write both files, download buttons, line counts and the first lines."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from apptest_support import assert_clean, errors, goto, open_app

from ftkit.dataset.messages import Templates
from ftkit.dataset.prepare import TRAIN_FILENAME, VALIDATION_FILENAME
from ftkit.preflight.scan import check_file
from ftkit.ui import state


@pytest.fixture(autouse=True)
def local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(state.HOSTED_ENV, raising=False)


def write(at_page: str, folder: Path) -> object:
    at = open_app(at_page)
    at.text_input(key="export_folder").input(str(folder))
    at.button[0].click().run()
    return at


def test_export_writes_files_that_pass_the_preflight_check(tmp_path: Path) -> None:
    at = open_app("compose")
    at.text_area(key="compose_system").input("Estimate the price.")
    at.number_input(key="compose_train").set_value(80)
    at.number_input(key="compose_validation").set_value(20).run()
    goto(at, "export")
    at.text_input(key="export_folder").input(str(tmp_path / "out"))
    at.button[0].click().run()
    assert_clean(at)
    train = tmp_path / "out" / TRAIN_FILENAME
    validation = tmp_path / "out" / VALIDATION_FILENAME
    assert at.session_state[state.EXPORT_TRAIN_PATH] == str(train)
    assert at.session_state[state.EXPORT_VALIDATION_PATH] == str(validation)
    report = check_file(train, validation_path=validation)
    assert report.ok and report.examples == 80 and report.validation_examples == 20
    first = orjson.loads(train.read_bytes().splitlines()[0])
    assert first["messages"][0] == {"role": "system", "content": "Estimate the price."}
    shown = [m.value for m in at.markdown]
    assert f"`{train}`: **80 lines**; the first 3:" in shown
    assert f"`{validation}`: **20 lines**; the first 3:" in shown
    assert at.code[0].value.splitlines()[0] == train.read_text().splitlines()[0]
    labels = [b.label for b in at.download_button]
    assert labels == [
        f"Download {TRAIN_FILENAME} (80 lines)",
        f"Download {VALIDATION_FILENAME} (20 lines)",
    ]


def test_changing_settings_after_writing_warns(tmp_path: Path) -> None:
    at = open_app("export")
    at.text_input(key="export_folder").input(str(tmp_path))
    at.button[0].click().run()
    goto(at, "compose")
    at.number_input(key="compose_validation").set_value(10).run()
    goto(at, "export")
    assert any("changed since these files were written" in w.value for w in at.warning)


def test_an_unwritable_folder_is_one_error_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    at = open_app("export")
    at.text_input(key="export_folder").input(str(blocker / "out"))
    at.button[0].click().run()
    assert not at.exception
    assert len(errors(at)) == 1 and str(blocker / "out") in errors(at)[0]
    assert at.session_state[state.EXPORT_TRAIN_PATH] is None


def test_hosted_mode_writes_to_the_sessions_own_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(state.HOSTED_ENV, "true")
    monkeypatch.chdir(tmp_path)  # the default output base, "out", is relative
    at = open_app("export")
    assert not [w for w in at.text_input if w.key == "export_folder"]
    at.button[0].click().run()
    assert_clean(at)
    written = Path(at.session_state[state.EXPORT_TRAIN_PATH])
    assert written.is_file() and written.parent.parent == Path("out", "users")
    assert written.parent.name.startswith("session-")
    report = check_file(written, validation_path=at.session_state[state.EXPORT_VALIDATION_PATH])
    assert report.ok


def test_download_bytes_match_the_written_file(tmp_path: Path) -> None:
    from ftkit.dataset.preview import jsonl_bytes
    from ftkit.dataset.sampling import split_items
    from ftkit.sources.load import load_items

    at = open_app("export")
    at.text_input(key="export_folder").input(str(tmp_path))
    at.button[0].click().run()
    split = split_items(load_items("sample").items, train=500, validation=50)
    assert jsonl_bytes(split.train, Templates()) == (tmp_path / TRAIN_FILENAME).read_bytes()


def test_other_trainers_table_and_export(tmp_path: Path) -> None:
    at = write("export", tmp_path)
    table = at.dataframe[0].value
    assert list(table["format"]) == [
        "openai-chat",
        "azure-openai",
        "together",
        "fireworks",
        "vertex-gemini",
        "bedrock",
        "hf-chat",
    ]
    assert set(table["takes this split"]) == {"yes"}
    at.selectbox(key="export_format").set_value("vertex-gemini")
    at.button[1].click().run()
    assert_clean(at)
    assert (tmp_path / "vertex-gemini_train.jsonl").is_file()
    first = orjson.loads((tmp_path / "vertex-gemini_train.jsonl").read_bytes().splitlines()[0])
    assert first["contents"][0]["role"] == "user"


def test_a_split_a_trainer_cannot_take_says_why(tmp_path: Path) -> None:
    at = open_app("compose")
    at.number_input(key="compose_train").set_value(5)
    at.number_input(key="compose_validation").set_value(0).run()
    goto(at, "export")
    table = at.dataframe[0].value
    fireworks = table[table["format"] == "fireworks"].iloc[0]
    assert fireworks["takes this split"] == "yes"
    bedrock = table[table["format"] == "bedrock"].iloc[0]
    assert bedrock["takes this split"] == "no"
    assert "at least 8" in bedrock["why not"] or "8" in bedrock["why not"]
    at.text_input(key="export_folder").input(str(tmp_path))
    at.button[0].click().run()
    at.selectbox(key="export_format").set_value("bedrock")
    at.button[1].click().run()
    assert errors(at) and "bedrock" in errors(at)[0].lower()
    assert not list(tmp_path.glob("bedrock*"))


def test_hosted_mode_writes_a_signed_in_user_to_their_own_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from apptest_support import APP
    from streamlit.testing.v1 import AppTest

    from ftkit.hosting import output_dir_for
    from tests.test_ui_auth import AUTH

    monkeypatch.chdir(tmp_path)  # the default output base, "out", is relative
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets = {"auth": AUTH, "ftkit": {"allowed_emails": ["ana@example.com"]}}
    at.user = {"is_logged_in": True, "email": "ana@example.com", "email_verified": True}
    at.run()
    goto(at, "export")
    at.button[0].click().run()
    assert_clean(at)
    written = Path(at.session_state[state.EXPORT_TRAIN_PATH])
    assert written.parent == output_dir_for("ana@example.com", "out")
    assert (tmp_path / written).is_file()
