"""End to end in a real browser: Playwright drives Debian's chromium against `streamlit run`.

One test edits the system prompt, sees the edit in the table and downloads the training JSONL.
The journey test walks the whole lecture path against a loopback fake OpenAI (files, jobs and
chat): sample → compose → messages → check → export → upload → job → evaluate → history, and
comes back to Messages and Check to see the values it set there kept.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ftkit.dataset.messages import DEFAULT_SYSTEM_PROMPT
from ftkit.preflight.scan import check_file
from tests.fake_journey import KEY, serve_journey

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


def start_app(
    cwd: Path, log_path: Path, extra_env: dict[str, str]
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start ``streamlit run streamlit_app.py`` in ``cwd`` on a free loopback port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "FTKIT_HOSTED"}
    env.update(extra_env)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "streamlit_app.py"),
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
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, time.monotonic() + 30)
    except BaseException:
        stop_app(server)
        raise
    return url, server


def stop_app(server: subprocess.Popen[bytes]) -> None:
    """Stop the app, killing it if it does not stop within 10 s."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """Start ``streamlit run streamlit_app.py`` on a free loopback port; stop it afterwards."""
    url, server = start_app(ROOT, tmp_path / "streamlit.log", {})
    try:
        yield url
    finally:
        stop_app(server)


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


def journey_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    """Return the app's environment for the journey: the fake endpoint, a fresh history DB."""
    return {
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": KEY,
        "FTKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'history.db'}",
        "FTKIT_POLL_SECONDS": "1",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }


def test_the_lecture_journey(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    workspace = tmp_path / "work"
    workspace.mkdir()
    with serve_journey() as (fake, chat):
        url, server = start_app(
            workspace, tmp_path / "streamlit.log", journey_env(tmp_path, fake.url)
        )
        try:
            with sync_api.sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.set_default_timeout(30_000)
                    sync_api.expect.set_options(timeout=30_000)
                    walk_the_journey(page, sync_api.expect, url)
                finally:
                    browser.close()
        finally:
            stop_app(server)
        uploaded = {f["filename"]: f["id"] for f in fake.state.files.values()}
        (job,) = [call.body for call in fake.calls("POST", "/fine_tuning/jobs")]
        assert job["model"] == "gpt-4o-mini-2024-07-18"
        assert job["training_file"] == uploaded["fine_tune_train.jsonl"]
        assert job["validation_file"] == uploaded["fine_tune_validation.jsonl"]
        assert job["method"]["supervised"]["hyperparameters"]["n_epochs"] == 2
        assert len(chat.requests) == 5
    assert (workspace / "out" / "fine_tune_train.jsonl").is_file()


def metric(page: Any, label: str | re.Pattern[str]) -> Any:
    """Return the metric card whose label is ``label`` (the whole label, or a pattern)."""
    return page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )


def nav(page: Any, title: str) -> None:
    """Go to a page through the sidebar, as a user does."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()


def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def walk_the_journey(page: Any, expect: Any, url: str) -> None:
    """Sample → compose → messages → check → export → train → evaluate → history, then back."""
    # Data: the built-in sample is loaded on the first visit
    page.goto(url)
    expect(metric(page, "Items").get_by_test_id("stMetricValue")).to_have_text(
        re.compile(r"^\d[\d,]*$"), timeout=60_000
    )
    page.get_by_role("link", name="Next: Compose").click()

    # Compose: a smaller training set shows in the preview
    page.get_by_role("heading", name="Compose").first.wait_for()
    train = page.get_by_label("Train examples")
    train.fill("200")
    train.press("Enter")
    expect(metric(page, "Train").get_by_test_id("stMetricValue")).to_have_text("200")
    expect(page.get_by_test_id("stChatMessage").first).to_be_visible()
    page.get_by_role("link", name="Next: Messages").click()

    # Messages: the table, and a search that narrows it
    page.get_by_role("heading", name="Messages").first.wait_for()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^\d+ of \d+ examples"))).to_contain_text("250 of 250")
    search = page.get_by_role("textbox", name="Search")
    search.fill("black")
    search.press("Enter")
    expect(page.get_by_text(re.compile(r"of 250 examples"))).to_contain_text("search hits")
    narrowed = page.get_by_text(re.compile(r"of 250 examples")).inner_text()
    page.get_by_role("link", name="Next: Check").click()

    # Check: the estimate for one epoch, then for two
    page.get_by_role("heading", name="Check").first.wait_for()
    expect(metric(page, "Epochs").get_by_test_id("stMetricValue")).to_have_text("1")
    # "(approximate)" follows the label when tiktoken's encodings are not at hand
    cost = metric(page, re.compile(r"^Estimated cost( \(approximate\))?$"))
    cost = cost.get_by_test_id("stMetricValue")
    expect(cost).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    one_epoch = float(cost.inner_text().lstrip("$"))
    choose(page, "Epochs", "2")
    expect(metric(page, "Epochs").get_by_test_id("stMetricValue")).to_have_text("2")
    expect(cost).not_to_have_text(f"${one_epoch:.2f}")
    assert float(cost.inner_text().lstrip("$")) == pytest.approx(2 * one_epoch, abs=0.011)
    page.get_by_role("link", name="Next: Export").click()

    # Export: write the files; they are listed with their line counts
    page.get_by_role("heading", name="Export").first.wait_for()
    page.get_by_role("button", name="Write JSONL files").click()
    expect(
        page.get_by_text("Wrote fine_tune_train.jsonl and fine_tune_validation.jsonl")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Written files")).to_be_visible()
    expect(page.get_by_text(re.compile(r"fine_tune_train\.jsonl: 200 lines"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"fine_tune_validation\.jsonl: 50 lines"))).to_be_visible()
    page.get_by_role("link", name="Next: Train").click()

    # Train: the exported files are offered; upload them; the job form is filled in
    page.get_by_role("heading", name="Train").first.wait_for()
    where = page.get_by_role("radiogroup", name="Where to train")
    expect(where.get_by_role("radio", name="OpenAI / Azure / compatible")).to_be_checked()
    expect(page.get_by_label("Training file", exact=True)).to_have_value(
        re.compile(r"out/fine_tune_train\.jsonl$")
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    file_id = re.compile(r"^file-\d+$")
    expect(page.get_by_label("Training file id")).to_have_value(file_id)
    expect(page.get_by_label("Validation file id (optional)")).to_have_value(file_id)
    form = page.get_by_test_id("stForm")
    expect(form.get_by_role("combobox", name="Epochs", exact=True)).to_have_value("2")
    page.get_by_role("button", name="Create job").click()
    expect(page.get_by_text("Trained model, ready to score on Evaluate")).to_be_visible(
        timeout=60_000
    )
    expect(page.get_by_text("succeeded").first).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    model = page.get_by_test_id("stAlert").filter(has_text="Trained model").locator("code")
    finetuned = model.inner_text()
    assert finetuned.startswith("ft:gpt-4o-mini-2024-07-18:ftkit-test:")
    page.get_by_role("link", name="Next: Evaluate").click()

    # Evaluate: the trained model is filled in; five items against the fake chat server
    page.get_by_role("heading", name="Evaluate").first.wait_for()
    expect(page.get_by_role("textbox", name="Model name")).to_have_value(finetuned)
    items = page.get_by_role("spinbutton", name="Items", exact=True)
    items.fill("5")
    items.press("Enter")
    page.get_by_role("button", name="Review run").click()
    page.get_by_role("button", name="Confirm: send 5 paid requests").click()
    expect(metric(page, "Average error").get_by_test_id("stMetricValue")).to_have_text(
        re.compile(r"^\$[\d,]+\.\d\d$"), timeout=60_000
    )
    expect(metric(page, "Hits").get_by_test_id("stMetricValue")).to_have_text(
        re.compile(r"^\d+\.\d%$")
    )
    expect(metric(page, "Unparsed").get_by_test_id("stMetricValue")).to_have_text("0")
    page.get_by_role("link", name="Next: History").click()

    # History: the runs are listed, the newest named by the model it scored
    page.get_by_role("heading", name="History").first.wait_for()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    runs = page.get_by_role("combobox", name="Run", exact=True)
    expect(runs).to_have_value(re.compile(rf"^#\d+ {re.escape(finetuned)} · evaluate · "))
    runs.click()
    listed = page.get_by_role("listbox").get_by_role("option")
    expect(listed).to_have_count(7)  # newest first: two checks, the export, two uploads...
    kinds = [text.split(" · ")[1] for text in listed.all_inner_texts()]
    assert kinds == ["evaluate", "finetune", "upload", "upload", "prepare", "validate", "validate"]
    page.keyboard.press("Escape")

    # Back to Messages and Check: what was set there is kept
    nav(page, "Messages")
    expect(page.get_by_role("textbox", name="Search")).to_have_value("black")
    expect(page.get_by_text(re.compile(r"of 250 examples"))).to_have_text(narrowed)
    nav(page, "Check")
    expect(metric(page, "Epochs").get_by_test_id("stMetricValue")).to_have_text("2")
    nav(page, "Compose")
    expect(page.get_by_label("Train examples")).to_have_value("200")
