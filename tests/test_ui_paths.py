"""What a hosted page may show of the server: file names, never paths or database URLs."""

from __future__ import annotations

import pytest

from ftkit.ui.paths import hide_paths, names_only


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "history database sqlite:////tmp/p/h.db: cannot read (unable to open)",
            "history database (hidden): cannot read (unable to open)",
        ),
        (
            "history database postgresql+psycopg://ftkit:***@db.internal:5432/ftkit: cannot write",
            "history database (hidden): cannot write",
        ),
        (
            "FTKIT_DATABASE_URL: nosuch://db is not a database URL ftkit can use",
            "FTKIT_DATABASE_URL: (hidden) is not a database URL ftkit can use",
        ),
        (
            "/srv/out/users/ana/fine_tune_train.jsonl: cannot write (Permission denied)",
            "fine_tune_train.jsonl: cannot write (Permission denied)",
        ),
        (
            "Prices as of 2026-11-26 (/opt/ftkit/ftkit/data/prices.json).",
            "Prices as of 2026-11-26 (prices.json).",
        ),
        ("run 3: ~/data/items.csv has changed", "run 3: items.csv has changed"),
        ("C:\\Users\\ana\\items.csv: no such file", "items.csv: no such file"),
        (
            "asked http://127.0.0.1:8000/v1, not https://api.openai.com/v1",
            "asked http://127.0.0.1:8000/v1, not https://api.openai.com/v1",
        ),
        ("train/validation 500/50, 1/2 of the items", "train/validation 500/50, 1/2 of the items"),
        ("wrote to /", "wrote to (hidden)"),
    ],
)
def test_hide_paths(text: str, shown: str) -> None:
    assert hide_paths(text) == shown


def test_names_only_keeps_the_shape_and_cuts_paths_to_file_names() -> None:
    recorded = {
        "source": "sample",
        "out_dir": "/tmp/ftkit-export-abc/",
        "train_path": "/tmp/ftkit-export-abc/fine_tune_train.jsonl",
        "validation_path": None,
        "mapping": {"text": ["title", "details"]},
        "files": ["/srv/a.jsonl", "upload:items.csv"],
        "note": "read /srv/data/items.csv",
        "sizes": {"train": 500, "validation": 50},
    }
    assert names_only(recorded) == {
        "source": "sample",
        "out_dir": "ftkit-export-abc",
        "train_path": "fine_tune_train.jsonl",
        "validation_path": None,
        "mapping": {"text": ["title", "details"]},
        "files": ["a.jsonl", "upload:items.csv"],
        "note": "read items.csv",
        "sizes": {"train": 500, "validation": 50},
    }
