"""Helpers for the dashboard's AppTest tests: start the app, open a page, read what it shows."""

from __future__ import annotations

import pickle
import re
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "streamlit_app.py"
sys.path.insert(0, str(ROOT))

from benchmarks import course  # noqa: E402


def open_app(page: str | None = None, *, timeout: float = 60) -> AppTest:
    """Run the app once (Data page), then switch to ``page`` (e.g. "compose") if given."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    if page is not None:
        goto(at, page)
    return at


def on_page(page: str, *, timeout: float = 60) -> AppTest:
    """Return the app set to open on ``app_pages/<page>.py`` through the router (not yet run)."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.switch_page(f"app_pages/{page}.py")
    return at


def goto(at: AppTest, page: str) -> AppTest:
    """Switch to ``app_pages/<page>.py`` and run."""
    at.switch_page(f"app_pages/{page}.py")
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    """Return the page's metrics as {label: value}."""
    return {m.label: m.value for m in at.metric}


def assert_clean(at: AppTest) -> None:
    """Fail if the run raised, or showed an error or a traceback."""
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


_ESCAPED = re.compile(r"\\([\\`*\[\]<>$#|~])")


def as_read(markdown: str) -> str:
    """Return markdown text as a reader sees it: ``ftkit.ui.markdown.literal``'s escapes undone."""
    return _ESCAPED.sub(r"\1", markdown)


def errors(at: AppTest) -> list[str]:
    """Return the texts of the page's ``st.error`` boxes, as the user reads them."""
    return [as_read(e.value) for e in at.error]


def course_pickle(path: Path, count: int, *, seed: int = 3) -> Path:
    """Write a course-format pickle of ``count`` items (class ``items.Item``) to ``path``."""
    course.register()
    try:
        path.write_bytes(pickle.dumps(course.make_items(count, seed=seed, text_chars=400)))
    finally:
        course.unregister()
    return path
