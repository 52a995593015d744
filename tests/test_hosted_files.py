"""Hosted mode never sends a server file: Export and Train use this session's workspace.

In hosted mode a person uploads only what their own session wrote on Export, or a JSONL file they
added themselves, chosen from a list; nothing outside their workspace ever reaches the API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apptest_support import assert_clean, errors, goto, open_app
from streamlit.testing.v1 import AppTest

from ftkit.dataset.prepare import TRAIN_FILENAME, VALIDATION_FILENAME
from ftkit.providers import SETTING_NAMES
from ftkit.ui import state
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples

SECRET = "TOP-SECRET-SERVER-LINE-42"
APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"


@pytest.fixture(autouse=True)
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run in hosted mode from a fresh server folder, with no provider settings around."""
    folder = tmp_path / "server"
    folder.mkdir()
    monkeypatch.chdir(folder)  # the default output base, "out", is relative
    monkeypatch.setenv(state.HOSTED_ENV, "1")
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def fake() -> FakeOpenAI:
    return shared_fake()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A server file that passes the pre-flight check and must never be uploaded."""
    path = write_examples(tmp_path / "secret.jsonl")
    line = {
        "messages": [{"role": "user", "content": SECRET}, {"role": "assistant", "content": "x"}]
    }
    with path.open("a") as out:
        out.write(json.dumps(line) + "\n")
    return path


def new_session(**ftkit: object) -> AppTest:
    """Return a fresh browser session of the dashboard; ``ftkit`` holds ``[ftkit]`` settings."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["ftkit"] = ftkit
    return at


def connected(fake: FakeOpenAI, page: str | None = "export") -> AppTest:
    """Open a browser session on ``page`` whose deployer's secrets point at the fake server."""
    at = new_session(allow_server_key=True)
    at.secrets["OPENAI_API_KEY"] = KEY
    at.secrets["OPENAI_BASE_URL"] = fake.url
    at.run()
    if page is not None:
        goto(at, page)
    return at


def export(at: AppTest) -> Path:
    """Click Export's write button; return the training file it wrote."""
    goto(at, "export")
    at.button[0].click().run()
    assert_clean(at)
    return Path(at.session_state[state.EXPORT_TRAIN_PATH])


def sent(fake: FakeOpenAI) -> str:
    """Return everything the fake API received: requests and stored file contents."""
    contents = b"".join(fake.state.contents.values()).decode(errors="replace")
    return repr(fake.requests) + repr(fake.state.parts) + contents


def shown(at: AppTest) -> str:
    """Return every text the page shows, including the choices offered."""
    texts = [
        e.value
        for kind in ("markdown", "caption", "success", "info", "error", "warning")
        for e in getattr(at, kind)
    ]
    texts += [str(option) for box in at.selectbox for option in box.options]
    texts += [j.value for j in at.json]
    return "\n".join(map(str, texts))


def upload_button(at: AppTest):
    return next(b for b in at.button if b.key == "upload_upload")


def test_hosted_upload_has_no_path_box_and_sends_this_sessions_export(
    fake: FakeOpenAI, server: Path
) -> None:
    at = connected(fake)
    train = export(at)
    goto(at, "train")
    assert_clean(at)
    assert not [box for box in at.text_input if str(box.key).startswith("upload_")]
    assert at.selectbox(key="upload_train_file").value == TRAIN_FILENAME
    assert at.selectbox(key="upload_validation_file").value == VALIDATION_FILENAME
    upload_button(at).click().run()
    assert_clean(at)
    assert at.session_state["upload_files"]["training"]["status"] == "processed"
    assert train.read_bytes() in fake.state.contents.values()
    assert str(server) not in shown(at) and "users/" not in shown(at)


def test_hosted_export_shows_file_names_never_the_server_folder(server: Path) -> None:
    at = open_app("export")
    assert not [box for box in at.text_input if box.key == "export_folder"]
    at.button[0].click().run()
    assert_clean(at)
    assert (
        at.success[0].value
        == f"Wrote {TRAIN_FILENAME} and {VALIDATION_FILENAME} to your workspace."
    )
    assert any(m.value.startswith(f"`{TRAIN_FILENAME}`: **") for m in at.markdown)
    assert str(server) not in shown(at) and "out/" not in shown(at)


def test_two_anonymous_sessions_get_different_workspaces(fake: FakeOpenAI) -> None:
    first, second = connected(fake), connected(fake)
    first_train, second_train = export(first), export(second)
    assert first_train.parent != second_train.parent
    assert first_train.parent.name.startswith("session-")
    second.session_state[state.EXPORT_TRAIN_PATH] = str(first_train.resolve())
    goto(second, "train")
    offered = second.selectbox(key="upload_train_file").options
    assert offered == [TRAIN_FILENAME, VALIDATION_FILENAME]
    assert second.selectbox(key="upload_train_file").value is None  # the other's file: not chosen


def test_another_sessions_export_never_reaches_the_api(fake: FakeOpenAI) -> None:
    other = connected(fake, "compose")
    other.text_area(key="compose_system").input(SECRET).run()
    other_train = export(other)
    assert SECRET in other_train.read_text()
    at = connected(fake, None)
    at.session_state[state.EXPORT_TRAIN_PATH] = str(other_train.resolve())
    at.session_state[state.EXPORT_VALIDATION_PATH] = str(other_train)
    goto(at, "train")
    assert at.selectbox(key="upload_train_file").options == []
    assert upload_button(at).disabled
    assert SECRET not in sent(fake)


def test_a_symlink_out_of_the_workspace_is_neither_offered_nor_sent(
    fake: FakeOpenAI, secret_file: Path
) -> None:
    at = connected(fake)
    train = export(at)
    (train.parent / "leak.jsonl").symlink_to(secret_file)
    goto(at, "train")
    assert "leak.jsonl" not in at.selectbox(key="upload_train_file").options
    at.checkbox(key="upload_force").check()
    upload_button(at).click().run()
    assert SECRET not in sent(fake)


@pytest.mark.parametrize("hostile", ["../../../secret.jsonl", "/etc/hostname", "SECRET_ABSOLUTE"])
def test_a_forged_choice_is_dropped_and_never_sent(
    fake: FakeOpenAI, secret_file: Path, hostile: str
) -> None:
    hostile = str(secret_file) if hostile == "SECRET_ABSOLUTE" else hostile
    at = connected(fake)
    train = export(at)
    at.session_state["upload_train_file"] = hostile  # what a forged widget value would carry
    goto(at, "train")
    assert not at.exception
    assert at.selectbox(key="upload_train_file").value == TRAIN_FILENAME  # the forgery is dropped
    at.checkbox(key="upload_force").check()
    upload_button(at).click().run()
    assert SECRET not in sent(fake)
    assert train.read_bytes() in fake.state.contents.values()


def test_a_jsonl_added_on_the_page_can_be_chosen_and_uploaded(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    mine = write_examples(tmp_path / "my examples.jsonl").read_bytes()
    at = connected(fake, "train")
    at.file_uploader(key="upload_jsonl").set_value(
        ("../my examples.jsonl", mine, "application/jsonl")
    )
    at.run()
    assert_clean(at)
    assert "Saved uploads/my-examples.jsonl in your workspace" in shown(at)
    at.selectbox(key="upload_train_file").set_value("uploads/my-examples.jsonl").run()
    upload_button(at).click().run()
    assert_clean(at)
    assert mine in fake.state.contents.values()


def test_an_added_file_over_the_upload_limit_is_refused(fake: FakeOpenAI) -> None:
    at = new_session(max_upload_mb=0.001)  # about 1 kB
    at.run()
    goto(at, "train")
    at.file_uploader(key="upload_jsonl").set_value(("big.jsonl", b"x" * 5000, "application/jsonl"))
    at.run()
    assert errors(at) == ["big.jsonl: 4.9 kB is over this server's upload limit of 1.0 kB"]
    assert at.selectbox(key="upload_train_file").options == []


def test_local_mode_still_takes_a_typed_path(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(state.HOSTED_ENV)
    train = write_examples(tmp_path / "anywhere.jsonl")
    at = connected(fake, "train")
    assert not [box for box in at.selectbox if box.key == "upload_train_file"]
    at.text_input(key="upload_train_path").input(str(train)).run()
    upload_button(at).click().run()
    assert_clean(at)
    assert train.read_bytes() in fake.state.contents.values()


def test_an_upload_error_names_the_file_not_the_server_path(
    fake: FakeOpenAI, tmp_path: Path, server: Path
) -> None:
    bad = write_examples(tmp_path / "bad.jsonl", bad=True).read_bytes()
    at = connected(fake, "train")
    at.file_uploader(key="upload_jsonl").set_value(("bad.jsonl", bad, "application/jsonl"))
    at.run()
    at.selectbox(key="upload_train_file").set_value("uploads/bad.jsonl").run()
    upload_button(at).click().run()
    (error,) = errors(at)
    assert error.startswith("uploads/bad.jsonl: not uploaded, the pre-flight check found 1 error")
    assert str(server) not in error and "users" not in error
    assert error.endswith('tick "Upload even if the pre-flight check finds errors"')  # no CLI flag
    assert not fake.calls("POST", "/v1/files")


def test_a_history_rerun_writes_into_this_sessions_workspace(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: Path
) -> None:
    import ftkit.history as history

    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    at = connected(fake)
    train = export(at)
    for path in train.parent.iterdir():
        path.unlink()
    try:
        goto(at, "history")
        at.button(key="history_rerun").click().run()
    finally:
        history.close_all()
    assert_clean(at)
    assert train.is_file()
    assert not (server / "out" / "users" / "anonymous").exists()
    goto(at, "train")
    assert TRAIN_FILENAME in at.selectbox(key="upload_train_file").options
