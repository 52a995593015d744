"""Screenshot every dashboard page at 1440 px and 420 px wide, with realistic state.

Run ``python tools/screenshots.py [--out DIR] [--pages Data Train ...]`` from the project folder.
It starts ``streamlit run streamlit_app.py`` on a free port in a scratch folder, with a loopback
fake OpenAI (files, fine-tuning jobs and chat; ``tests/fake_journey.py``) and a scratch history
database, walks the lecture journey in Chromium (the browser test's walk: sample loaded, files
exported and uploaded, a job trained, an evaluation run), then opens each page from the sidebar
and writes ``<out>/<page>-1440.png`` and ``<out>/<page>-420.png`` (whole pages). Needs the dev
requirements (playwright, pytest) and Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = ("Data", "Compose", "Messages", "Check", "Export", "Train", "Evaluate", "History")
WIDTHS = (1440, 420)
HEIGHT = 900
MAX_HEIGHT = 12_000  # a whole page taller than this is cut


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for PNGs")
    parser.add_argument(
        "--pages", nargs="+", choices=PAGES, default=list(PAGES), help="pages to shoot"
    )
    return parser.parse_args(argv)


def open_sidebar(page: Any) -> Any:
    """Open the sidebar if it is closed (as on a phone); return its page links."""
    page.wait_for_timeout(500)  # a resize closes or opens the sidebar after a moment
    nav = page.get_by_test_id("stSidebarNav")
    expand = page.get_by_role("button", name="Expand sidebar")
    if expand.count() and expand.is_visible():
        expand.click()
        page.wait_for_timeout(500)  # the sidebar slides in
    return nav


def close_sidebar(page: Any) -> None:
    """Close the sidebar if it is still open (its arrow shows under the mouse)."""
    sidebar = page.get_by_test_id("stSidebar")
    if sidebar.get_attribute("data-collapsed") == "false":
        sidebar.hover()
        page.get_by_role("button", name="Collapse sidebar").click()
        page.wait_for_timeout(500)  # the sidebar slides out


def shoot(page: Any, title: str, out: Path) -> list[Path]:
    """Open ``title`` from the sidebar and write it whole at each width; return the files."""
    written = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        open_sidebar(page).get_by_text(title, exact=True).click()
        page.get_by_role("heading", name=title).first.wait_for()  # on a phone the sidebar closes
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
        if width < 640:
            close_sidebar(page)
        page.wait_for_timeout(1_000)  # charts lay themselves out
        tall = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": width, "height": min(max(tall, HEIGHT), MAX_HEIGHT)})
        page.wait_for_timeout(1_000)
        path = out / f"{title.lower()}-{width}.png"
        page.screenshot(path=str(path))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Start the app and the fake, walk the journey, write the screenshots."""
    args = parse_args(argv)
    try:
        from playwright.sync_api import expect, sync_playwright

        from tests.fake_journey import serve_journey
        from tests.test_browser import (
            CHROMIUM,
            CHROMIUM_ARGS,
            journey_env,
            start_app,
            stop_app,
            walk_the_journey,
        )
    except ImportError as err:
        print(f"screenshots: error: {err} (pip install -r requirements-dev.txt)", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"screenshots: error: no chromium at {CHROMIUM}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, serve_journey() as (fake, _chat):
        work = Path(scratch) / "work"
        work.mkdir()
        env = {**journey_env(Path(scratch), fake.url), "FTKIT_USER": "ana"}
        url, server = start_app(work, Path(scratch) / "streamlit.log", env)
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1440, "height": HEIGHT})
                    page.set_default_timeout(60_000)
                    expect.set_options(timeout=60_000)
                    walk_the_journey(page, expect, url)
                    for title in args.pages:
                        for path in shoot(page, title, args.out):
                            print(path)
                finally:
                    browser.close()
        finally:
            stop_app(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
