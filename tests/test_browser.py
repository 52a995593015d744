"""End to end in a real browser: Playwright drives Debian's chromium against `streamlit run`.

Opens the app, waits for the messages table, edits the system prompt, sees the edit in the
table, downloads the training JSONL and checks the file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT
from ftkit.preflight.scan import check_file

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NEW_PROMPT = "Estimate the price of this item in dollars."

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(url: str, server: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited early with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail("streamlit did not become healthy within 30 s")


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """Start ``streamlit run streamlit_app.py`` on a free loopback port; stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "FTKIT_HOSTED"}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    log = (tmp_path / "streamlit.log").open("wb")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, server, time.monotonic() + 30)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_edit_the_prompt_see_it_in_the_table_and_download(app_url: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True, viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20_000)
            expect = sync_api.expect

            page.goto(f"{app_url}/messages")  # the first run loads the sample: allow it time
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=30_000)
            system = page.get_by_test_id("stText").first  # shown once, above the table
            expect(system).to_have_text(DEFAULT_SYSTEM_PROMPT)

            page.get_by_test_id("stSidebarNav").get_by_text("Compose").click()
            editor = page.get_by_label("System prompt")
            editor.fill(NEW_PROMPT)
            editor.press("Control+Enter")
            expect(page.get_by_test_id("stChatMessage").first).to_contain_text(NEW_PROMPT)

            page.get_by_test_id("stSidebarNav").get_by_text("Messages").click()
            expect(page.get_by_test_id("stText").first).to_have_text(NEW_PROMPT)
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible()

            page.get_by_test_id("stSidebarNav").get_by_text("Export").click()
            button = page.get_by_role("button", name="Download fine_tune_train.jsonl")
            with page.expect_download() as pending:
                button.click()
            saved = tmp_path / "downloaded_train.jsonl"
            pending.value.save_as(saved)
        finally:
            browser.close()

    lines = saved.read_bytes().splitlines()
    assert len(lines) == 500
    first = orjson.loads(lines[0])
    assert first["messages"][0] == {"role": "system", "content": NEW_PROMPT}
    assert first["messages"][2]["content"].startswith("Price is $")
    assert check_file(saved).ok
