from __future__ import annotations

import ast
from pathlib import Path

import ftkit

ROOT = Path(__file__).resolve().parent.parent


def test_public_surface_is_exactly_all() -> None:
    public = {name for name in dir(ftkit) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(ftkit, name)).__name__ == "module"}
    assert public - modules - {"annotations"} == set(ftkit.__all__)
    for name in ftkit.__all__:
        assert getattr(ftkit, name) is not None


def test_every_error_is_an_ftkit_error() -> None:
    errors = [getattr(ftkit, n) for n in ftkit.__all__ if n.endswith("Error")]
    assert errors and all(issubclass(e, ftkit.FtkitError) for e in errors)


def test_library_never_imports_streamlit_outside_ui() -> None:
    for path in (ROOT / "ftkit").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "ftkit").parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_library_api_end_to_end(tmp_path: Path) -> None:
    items = ftkit.load_items("sample").items
    split = ftkit.split_items(items, train=30, validation=5, strategy="random")
    train_path, validation_path = ftkit.write_split(split, tmp_path)
    assert validation_path is not None
    assert len(ftkit.read_jsonl(train_path)) == 30
    report = ftkit.check_file(train_path, validation_path=validation_path)
    assert report.ok


def test_prepare_reports_the_written_files_sha256(tmp_path: Path) -> None:
    import hashlib

    result = ftkit.prepare("sample", train=40, validation=10, out_dir=tmp_path)
    assert result.validation_path is not None
    for path, digest in (
        (result.train_path, result.train_sha256),
        (result.validation_path, result.validation_sha256),
    ):
        assert digest == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    unhashed = ftkit.prepare(
        "sample", train=40, validation=10, out_dir=tmp_path, hash_outputs=False
    )
    assert unhashed.train_sha256 is None and unhashed.validation_sha256 is None
    assert unhashed.train_path.read_bytes() == result.train_path.read_bytes()


def test_content_hash_of_files_large_and_empty(tmp_path: Path) -> None:
    import hashlib

    from ftkit.sources.load import content_hash

    for size in (0, 10, (64 << 20) + 3):  # nothing, small, one byte-block and a bit more
        path = tmp_path / f"data_{size}.bin"
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        path.write_bytes(data)
        assert content_hash(path) == "sha256:" + hashlib.sha256(data).hexdigest()
