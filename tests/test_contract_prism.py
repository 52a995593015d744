"""Contract test: the CLI's requests pass Prism's validation against OpenAI's published spec.

Prism (``prism mock``, installed by ``.ci/run``) serves ../shared/openai/openapi.yaml and answers a
request that breaks the spec with 422, which the CLI turns into exit code 2. Skipped when the
``prism`` command or the spec is missing: a test never downloads anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftkit.cli import main
from ftkit.errors import UploadError
from ftkit.providers import ProviderSettings, client_from_settings
from ftkit.training.large_files import upload_in_parts
from tests.conftest import SHARED
from tests.test_files_upload import write_examples

SPEC = SHARED / "openai" / "openapi.yaml"
STARTUP_SECONDS = 120

# one pytest-xdist worker runs the whole module, so Prism starts once
pytestmark = pytest.mark.xdist_group("prism")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prism = shutil.which("prism")
    if prism is None:
        pytest.skip("prism is not installed (.ci/run installs @stoplight/prism-cli@5 from npm)")
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is missing")
    port = _free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [prism, "mock", "-p", str(port), str(SPEC)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while b"Prism is listening" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-300:]
                pytest.skip(f"Prism did not start: {tail}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        # prism starts node as a child: end the whole process group Prism runs in
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def env(prism_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-contract-test")
    monkeypatch.setenv("OPENAI_BASE_URL", prism_url)
    write_examples(tmp_path / "train.jsonl")
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["upload", "train.jsonl", "--no-wait", "--json"],
        [
            "finetune",
            "--training-file",
            "file-abc",
            "--validation-file",
            "file-def",
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--learning-rate-multiplier",
            "0.5",
            "--seed",
            "42",
            "--suffix",
            "pricer",
            "--wandb-project",
            "pricer",
            "--wandb-entity",
            "me",
            "--wandb-tag",
            "lecture",
            "--metadata",
            "team=a",
            "--json",
        ],
        ["finetune", "--training-file", "file-abc", "--json"],
        ["jobs", "list", "--json"],
        ["jobs", "show", "ftjob-abc", "--json"],
        ["jobs", "events", "ftjob-abc", "--json"],
        ["jobs", "cancel", "ftjob-abc", "--json"],
        ["jobs", "pause", "ftjob-abc", "--json"],
        ["jobs", "resume", "ftjob-abc", "--json"],
        ["models", "--json"],
    ],
)
def test_cli_requests_pass_prism_validation(env, capsys, argv):
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "(422)" not in err


def test_uploads_api_requests_pass_prism_validation(env, prism_url):
    path = env / "train.jsonl"
    client = client_from_settings(ProviderSettings(api_key="sk-contract", base_url=prism_url))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    try:
        upload_in_parts(client, path, md5=md5, part_size=1024)
    except UploadError as err:  # Prism's example completion carries "file": null
        assert "returned no file" in str(err)
