"""The workspace rules: only files inside a session's own folder can be chosen, saved or sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ftkit.errors import OutputError, UploadError
from ftkit.workspace import (
    list_jsonl,
    relative_name,
    resolve_in,
    safe_filename,
    save_upload,
    scrub_paths,
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "out" / "users" / "ana"
    (folder / "uploads").mkdir(parents=True)
    (folder / "train.jsonl").write_text("{}\n")
    (folder / "uploads" / "mine.jsonl").write_text("{}\n")
    (folder / "notes.txt").write_text("not jsonl\n")
    (tmp_path / "secret.jsonl").write_text("secret\n")
    (folder / "leak.jsonl").symlink_to(tmp_path / "secret.jsonl")
    (folder / "uploads" / "alias.jsonl").symlink_to(folder / "train.jsonl")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "other.jsonl").write_text("other\n")
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    return folder


@pytest.mark.parametrize("name", ["train.jsonl", "uploads/mine.jsonl", "uploads/alias.jsonl"])
def test_a_file_inside_the_workspace_resolves_to_its_real_path(workspace: Path, name: str) -> None:
    path = resolve_in(workspace, name)
    assert path.is_file() and path.is_relative_to(workspace.resolve())


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../../secret.jsonl", "not a file in your workspace"),
        ("uploads/../../../../secret.jsonl", "not a file in your workspace"),
        ("/etc/hostname", "not a file in your workspace"),
        ("C:\\Windows\\win.ini", "not a file in your workspace"),
        ("..\\..\\secret.jsonl", "not a file in your workspace"),
        ("leak.jsonl", "not a file in your workspace"),  # a symlink leading out
        ("linked/other.jsonl", "not a file in your workspace"),  # a folder symlink leading out
        ("uploads", "not a file in your workspace"),  # a folder
        ("missing.jsonl", "no such file in your workspace"),
        ("nul\x00.jsonl", "no such file in your workspace"),
        ("", "not a file in your workspace"),
    ],
)
def test_anything_else_is_refused_in_one_line(workspace: Path, name: str, problem: str) -> None:
    with pytest.raises(UploadError) as caught:
        resolve_in(workspace, name)
    assert str(caught.value) == f"{name or '(no file chosen)'}: {problem}"
    assert str(workspace) not in str(caught.value)


def test_an_absolute_path_inside_the_workspace_is_refused_too(workspace: Path) -> None:
    with pytest.raises(UploadError):
        resolve_in(workspace, str(workspace / "train.jsonl"))


def test_the_list_holds_only_jsonl_files_that_resolve_inside(workspace: Path) -> None:
    assert list_jsonl(workspace) == ["train.jsonl", "uploads/alias.jsonl", "uploads/mine.jsonl"]
    assert list_jsonl(workspace / "not-yet") == []


def test_relative_name_is_none_outside_the_workspace(workspace: Path, tmp_path: Path) -> None:
    assert relative_name(workspace, str(workspace / "train.jsonl")) == "train.jsonl"
    assert relative_name(workspace, str(tmp_path / "secret.jsonl")) is None
    assert relative_name(workspace, None) is None


@pytest.mark.parametrize(
    ("uploaded", "saved"),
    [
        ("train.jsonl", "train.jsonl"),
        ("../../etc/evil.jsonl", "evil.jsonl"),
        ("C:\\Users\\ana\\my data.JSONL", "my-data.JSONL"),
        (".hidden.jsonl", "hidden.jsonl"),
        ("résumé (1).jsonl", "r-sum-1-.jsonl"),
    ],
)
def test_an_upload_keeps_only_a_safe_name(uploaded: str, saved: str) -> None:
    assert safe_filename(uploaded) == saved


def test_an_upload_is_saved_inside_the_uploads_folder(workspace: Path) -> None:
    name = save_upload(workspace, "../../x.jsonl", b'{"a": 1}\n', max_bytes=100)
    assert name == "uploads/x.jsonl"
    assert resolve_in(workspace, name).read_bytes() == b'{"a": 1}\n'
    assert not list((workspace / "uploads").glob(".upload-*"))


def test_saving_over_a_symlink_replaces_the_link_not_its_target(
    workspace: Path, tmp_path: Path
) -> None:
    (workspace / "uploads" / "trap.jsonl").symlink_to(tmp_path / "secret.jsonl")
    save_upload(workspace, "trap.jsonl", b"mine\n", max_bytes=100)
    assert (tmp_path / "secret.jsonl").read_text() == "secret\n"
    assert (workspace / "uploads" / "trap.jsonl").read_bytes() == b"mine\n"


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("data.csv", b"a,b\n", "data.csv: only .jsonl files can be uploaded here"),
        ("empty.jsonl", b"", "empty.jsonl: the file is empty"),
        (
            "big.jsonl",
            b"x" * 2048,
            "big.jsonl: 2.0 kB is over this server's upload limit of 1.0 kB",
        ),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_written(
    workspace: Path, name: str, data: bytes, problem: str
) -> None:
    before = sorted(p.name for p in (workspace / "uploads").iterdir())
    with pytest.raises(OutputError, match=f"^{re.escape(problem)}$"):
        save_upload(workspace, name, data, max_bytes=1024)
    assert sorted(p.name for p in (workspace / "uploads").iterdir()) == before


def test_scrub_paths_leaves_file_names(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace.parent.parent.parent)
    relative = Path("out/users/ana")
    text = f"{workspace}/train.jsonl: bad; {relative}/uploads/x.jsonl: bad; {relative}: full"
    assert (
        scrub_paths(text, relative)
        == "train.jsonl: bad; uploads/x.jsonl: bad; your workspace: full"
    )


def test_an_uploads_folder_leading_out_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ana"
    folder.mkdir()
    (tmp_path / "outside").mkdir()
    (folder / "uploads").symlink_to(tmp_path / "outside")
    with pytest.raises(OutputError, match=r"^x\.jsonl: cannot be saved in your workspace"):
        save_upload(folder, "x.jsonl", b"{}\n", max_bytes=100)
    assert not list((tmp_path / "outside").iterdir())
