"""Every command that reads a user's file refuses a folder, named pipe, device or socket at once.

They would block forever (a pipe with no writer) or never end (``/dev/zero``); the check is a
``stat`` before opening, in ``ftkit.sources.sniff.require_regular_file``, so it answers in one
line and writes nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from ftkit.cli import main
from ftkit.dataset.jsonl import read_jsonl
from ftkit.errors import CheckError, FtkitError, SourceError, UploadError
from ftkit.exports.files import load_examples
from ftkit.preflight.scan import check_file
from ftkit.sources.load import load_items
from ftkit.training.files import upload_file

ROOT = Path(__file__).resolve().parent.parent


def _fifo(folder: Path) -> Path:
    path = folder / "train.jsonl"
    os.mkfifo(path)
    return path


def _folder(folder: Path) -> Path:
    path = folder / "train.jsonl"
    path.mkdir()
    return path


def _device(_folder: Path) -> Path:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    return Path("/dev/zero")


@pytest.fixture
def make_socket(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    opened: list[socket.socket] = []

    def make(folder: Path) -> Path:
        path = folder / "train.jsonl"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        opened.append(server)
        return path

    yield make
    for server in opened:
        server.close()


KINDS = {"fifo": "a named pipe", "folder": "a folder", "device": "a device", "socket": "a socket"}


@pytest.fixture(params=sorted(KINDS))
def special(
    request: pytest.FixtureRequest, tmp_path: Path, make_socket: Callable[[Path], Path]
) -> tuple[Path, str]:
    makers = {"fifo": _fifo, "folder": _folder, "device": _device, "socket": make_socket}
    return makers[request.param](tmp_path), KINDS[request.param]


READERS: list[tuple[str, Callable[[Path], object], type[FtkitError]]] = [
    ("validate", check_file, CheckError),
    ("prepare-source", load_items, SourceError),
    ("jsonl", read_jsonl, SourceError),
    ("export-read", load_examples, SourceError),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("read", "error"), [(r, e) for _, r, e in READERS], ids=[name for name, _, _ in READERS]
)
def test_a_special_file_is_refused_in_one_line(
    special: tuple[Path, str], read: Callable[[Path], object], error: type[FtkitError]
) -> None:
    path, what = special
    with pytest.raises(error) as caught:
        read(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    assert what in message


@pytest.mark.timeout(30)
def test_upload_refuses_a_special_file_before_any_request(
    special: tuple[Path, str], tmp_path: Path
) -> None:
    path, what = special
    client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(UploadError, match=what):
        upload_file(client, path, endpoint="test", store=tmp_path / "uploads.json")
    assert not (tmp_path / "uploads.json").exists()


@pytest.mark.timeout(30)
def test_validate_cli_says_one_line_and_records_nothing(
    special: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, what = special
    database = tmp_path / "history.db"
    monkeypatch.setenv("FTKIT_DATABASE_URL", f"sqlite:///{database}")
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert (
        out == "" and err == f"ftkit: error: {path}: is {what}, not a regular file; give a file\n"
    )
    assert not database.exists()


def test_validate_on_a_pipe_returns_at_once_in_a_real_process(tmp_path: Path) -> None:
    path = _fifo(tmp_path)
    env = {**os.environ, "FTKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "ftkit", "validate", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "is a named pipe" in done.stderr
    assert "Traceback" not in done.stderr
