"""Red-team cases for endpoints: address tricks, DNS rebinding, key echoes, failing servers."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from apptest_support import on_page

from ftkit.api import calling
from ftkit.cli import main
from ftkit.endpoints import EndpointGuard, HidingTransport
from ftkit.errors import ApiError, ProviderError
from ftkit.providers import ProviderSettings, client_from_settings
from tests.fake_chat import Reply, serve
from tests.test_endpoints import ask, guard

ROOT = Path(__file__).resolve().parent.parent

TRICKS = [
    "http://2130706433/v1",  # decimal
    "http://0177.0.0.1/v1",  # octal
    "http://0x7f000001/v1",  # hex
    "http://127.1/v1",  # short form
    "http://[::1]/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://[::ffff:7f00:1]/v1",
    "http://[0:0:0:0:0:0:0:1]/v1",
    "http://[fe80::1%25eth0]/v1",
    "http://localhost./v1",
    "HTTP://127.0.0.1/v1",
    "http://127.0.0.1:8080/v1",
    " http://127.0.0.1/v1\n",
    "http://127.0.\t0.1/v1",
    "http://0/v1",
    "http://[::ffff:169.254.169.254]/latest",
    "http://[2002:7f00:1::]/v1",  # 6to4 wrapping 127.0.0.1
    "http://[2002:a9fe:a9fe::]/latest",  # 6to4 wrapping 169.254.169.254
    "http://evil@127.0.0.1/v1",
    "http://127.0.0.1@evil.example/v1",
    "http://127.0.0.1\\@evil.example/v1",
    "file:///etc/passwd",
    "ftp://127.0.0.1/v1",
    "gopher://127.0.0.1:11211/_stats",
]


@pytest.mark.parametrize("url", TRICKS)
@pytest.mark.parametrize("field", ["Base URL", "Azure OpenAI endpoint"])
def test_address_tricks_are_refused_in_one_line(url: str, field: str) -> None:
    with pytest.raises(ProviderError) as caught:
        guard().check(url, field=field)
    message = str(caught.value)
    assert message.startswith(f"{field}: ") and "\n" not in message


def test_a_very_long_url_is_refused_in_a_short_line() -> None:
    for url in ("http://" + "a" * 5000 + ".invalid/v1", "gopher://" + "b" * 5000):
        with pytest.raises(ProviderError) as caught:
            guard().check(url, field="Base URL")
        assert str(caught.value).startswith("Base URL: ") and len(str(caught.value)) < 200


def test_a_name_checked_public_but_connected_internal_never_gets_the_request() -> None:
    # DNS rebinding: the guard's resolver says public every time; the system's says loopback
    with serve(lambda body, attempt: ("answer", "12")) as fake:
        port = fake.url.split(":")[2].split("/")[0]
        message = ask(
            f"http://localhost:{port}/v1", EndpointGuard(resolve=lambda h, p: ["8.8.8.8"])
        )
    assert fake.requests == []
    assert "gave up" in message


def test_a_pinned_connection_still_reaches_an_allowed_public_answer() -> None:
    with serve(lambda body, attempt: ("status", 400, {})) as fake:
        port = fake.url.split(":")[2].split("/")[0]
        pinned = EndpointGuard(resolve=lambda h, p: ["127.0.0.1"], allow_private=True)
        message = ask(f"http://any-name.example:{port}/v1", pinned)
    assert len(fake.requests) == 1  # connected to the checked address, not the name
    assert message.endswith("the endpoint rejected the request")


KEY = "sk-local-" + "k" * 40


def evaluate_cli(
    reply: Reply, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for name in ("OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with serve(reply) as fake:
        code = main(
            [
                "evaluate",
                "--model",
                "gpt-4o-mini",
                "--size",
                "3",
                "--base-url",
                fake.url,
                "--no-save",
                "--no-history",
            ]
        )
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("in_tmp")
def test_evaluate_never_prints_a_key_the_endpoint_echoes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    echo = f"Incorrect API key provided: {KEY}."
    code, text = evaluate_cli(lambda b, a: ("status", 401, {}, echo), monkeypatch, capsys)
    assert code == 2 and "HTTP 401: Incorrect API key provided" in text
    assert KEY not in text


@pytest.mark.usefixtures("in_tmp")
@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (lambda b, a: ("status", 429, {"Retry-After": "0"}), "HTTP 429"),
        (lambda b, a: ("status", 503, {"Retry-After": "0"}), "HTTP 503"),
    ],
)
def test_evaluate_says_why_every_item_failed(
    reply: Reply, reason: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = evaluate_cli(reply, monkeypatch, capsys)
    assert code == 1
    assert "3 of 3 items failed after every retry" in text and reason in text


class _Huge(BaseHTTPRequestHandler):
    """Answer every request 200 with an endless body, or a small gzip bomb."""

    def do_GET(self) -> None:
        bomb = self.path == "/bomb"
        body = gzip.compress(b"\0" * (64 * 2**20)) if bomb else None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if bomb:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        try:
            if body is not None:
                self.wfile.write(body)
                return
            chunk = b" " * 2**20
            for _ in range(64):
                self.wfile.write(chunk)
        except OSError:
            pass  # the client stopped reading

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def huge() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Huge)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/endless", "/bomb"])
def test_a_typed_endpoints_answer_is_read_only_up_to_a_limit(huge: str, path: str) -> None:
    open_loopback = guard(allowed_hosts=frozenset({"127.0.0.1"}))
    typed = httpx2.Client(transport=HidingTransport(open_loopback, hide_errors=True))
    with typed, pytest.raises(httpx2.ReadError):
        typed.get(huge + path)
    with httpx2.Client(transport=HidingTransport(open_loopback, hide_errors=False)) as client:
        assert len(client.get(huge + path).content) == 64 * 2**20  # the operator's own: as sent


@pytest.mark.usefixtures("in_tmp")
def test_evaluate_stops_when_the_first_items_all_fail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with serve(lambda b, a: ("status", 503, {"Retry-After": "0"}, "overloaded")) as fake:
        code = main(
            [
                "evaluate",
                "--model",
                "gpt-4o-mini",
                "--size",
                "40",
                "--base-url",
                fake.url,
                "--no-save",
                "--no-history",
                "--workers",
                "2",
            ]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert "run stopped: the first 5 items all failed after every retry" in err
    assert "HTTP 503: overloaded" in err
    assert len(fake.attempts) < 10  # not all 40 items were asked


class _Echo(BaseHTTPRequestHandler):
    """Answer every request 401 with the key it carried, as a careless endpoint does."""

    def do_GET(self) -> None:
        sent = self.headers.get("api-key") or self.headers.get("authorization", "")
        body = json.dumps({"error": {"message": f"bad key: {sent}"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("azure", [False, True])
def test_the_operators_endpoint_never_shows_the_servers_key_back(azure: bool) -> None:
    server_key = "0123456789abcdef0123456789abcdef"  # not shaped like an OpenAI key
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = ProviderSettings(
        api_key=server_key,
        base_url=None if azure else f"{url}/v1",
        azure_endpoint=url if azure else None,
        api_version="2024-10-21",
    )
    operator = guard(trusted=frozenset({settings.endpoint}))
    client = client_from_settings(settings, guard=operator, max_retries=0)
    try:
        with pytest.raises(ApiError) as caught, calling("listing files"):
            client.files.list()
    finally:
        server.shutdown()
        server.server_close()
    assert "bad key: " in str(caught.value) and server_key not in str(caught.value)


@pytest.mark.usefixtures("in_tmp")
def test_the_cli_never_prints_the_environments_key_an_endpoint_echoes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    odd_key = "0123456789abcdef0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", odd_key)
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        code = main(["jobs", "list", "--base-url", url])
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("ftkit: error: ") and "bad key: " in err
    assert odd_key not in err


@pytest.mark.usefixtures("in_tmp")
def test_upload_and_train_never_shows_the_sessions_key_an_endpoint_echoes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ftkit.providers import SETTING_NAMES

    for name in (*SETTING_NAMES, "FTKIT_HOSTED"):
        monkeypatch.delenv(name, raising=False)
    typed_key = "0123456789abcdef0123456789abcdef"  # an Azure-style key, not shaped like sk-
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        at = on_page("train", timeout=30)
        at.run()
        at.sidebar.text_input(key="_input_openai_api_key").input(typed_key)
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        at.sidebar.text_input(key="_input_openai_base_url").input(url).run()
        at.button(key="upload_lists").click().run()
    finally:
        server.shutdown()
        server.server_close()
    (error,) = [e.value for e in at.error]
    assert "bad key: " in error and typed_key not in error


@pytest.mark.usefixtures("in_tmp")
def test_upload_with_a_malformed_base_url_is_one_line_never_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ftkit.providers import SETTING_NAMES
    from tests.test_files_upload import write_examples

    for name in (*SETTING_NAMES, "FTKIT_HOSTED"):
        monkeypatch.delenv(name, raising=False)
    train = write_examples(tmp_path / "train.jsonl")
    at = on_page("train", timeout=30)
    at.run()
    at.sidebar.text_input(key="_input_openai_api_key").input(KEY)
    at.sidebar.text_input(key="_input_openai_base_url").input("http://127.0.0.1:9/v1\x00")
    at.text_input(key="upload_train_path").input(str(train)).run()
    at.button(key="upload_upload").click().run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Base URL: ") and "is not a valid URL" in error
