"""Provider settings: precedence, masking, kinds and the client built from them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import openai
import pytest

from ftkit.errors import ProviderError
from ftkit.providers import (
    ProviderSettings,
    client_from_settings,
    env_settings,
    redact,
    resolve_settings,
)

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.mark.parametrize(
    ("sources", "expected_key", "expected_url"),
    [
        (
            ({"OPENAI_API_KEY": "typed"}, {"OPENAI_API_KEY": "secret"}, {"OPENAI_API_KEY": "env"}),
            "typed",
            None,
        ),
        (
            ({"OPENAI_API_KEY": ""}, {"OPENAI_API_KEY": "secret"}, {"OPENAI_API_KEY": "env"}),
            "secret",
            None,
        ),
        (
            (
                {"OPENAI_API_KEY": "  "},
                {},
                {"OPENAI_API_KEY": "env", "OPENAI_BASE_URL": "http://x"},
            ),
            "env",
            "http://x",
        ),
        (({}, {"OPENAI_BASE_URL": "http://s"}, {"OPENAI_BASE_URL": "http://e"}), None, "http://s"),
    ],
)
def test_each_setting_comes_from_the_first_source_that_has_it(
    sources: tuple[dict[str, str], ...], expected_key: str | None, expected_url: str | None
) -> None:
    settings = resolve_settings(*sources)
    assert settings.api_key == expected_key
    assert settings.base_url == expected_url


def test_repr_and_str_never_show_a_key() -> None:
    settings = ProviderSettings(api_key=KEY, azure_api_key="azure-secret-key-123456")
    for text in (repr(settings), str(settings), f"{settings}"):
        assert KEY not in text and "azure-secret-key-123456" not in text
        assert "sk-…89" in text


@pytest.mark.parametrize(
    ("settings", "kind", "ok"),
    [
        (ProviderSettings(), "openai", False),
        (ProviderSettings(api_key=KEY), "openai", True),
        (ProviderSettings(api_key=KEY, base_url="http://127.0.0.1:1/v1"), "compatible", True),
        (ProviderSettings(azure_endpoint="https://r.openai.azure.com"), "azure", False),
        (
            ProviderSettings(azure_endpoint="https://r.openai.azure.com", azure_api_key="k"),
            "azure",
            True,
        ),
    ],
)
def test_kind_and_whether_a_key_is_missing(settings: ProviderSettings, kind: str, ok: bool) -> None:
    assert settings.kind == kind
    assert (settings.missing() is None) is ok


def test_without_a_key_the_client_is_refused_with_what_to_set() -> None:
    with pytest.raises(ProviderError, match="set OPENAI_API_KEY"):
        client_from_settings(ProviderSettings())


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("api-key")))
        body = json.dumps({"object": "list", "data": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("R", (_Recorder,), {"seen": seen}))
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_azure_settings_send_the_api_version_and_the_azure_key(
    recorder: tuple[str, list[tuple[str, str | None]]],
) -> None:
    endpoint, seen = recorder
    settings = ProviderSettings(
        azure_endpoint=endpoint, azure_api_key="k" * 20, api_version="2024-10-21"
    )
    client = client_from_settings(settings)
    assert isinstance(client, openai.AzureOpenAI)
    client.models.list()
    [(path, key)] = seen
    assert path == "/openai/models?api-version=2024-10-21"
    assert key == "k" * 20


def test_compatible_endpoint_client_uses_the_base_url() -> None:
    client = client_from_settings(ProviderSettings(api_key=KEY, base_url="http://127.0.0.1:9/v1"))
    assert not isinstance(client, openai.AzureOpenAI)
    assert str(client.base_url) == "http://127.0.0.1:9/v1/"


def test_env_wins_over_dotenv_and_dotenv_fills_gaps(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("OPENAI_API_KEY=from-dotenv\nOPENAI_BASE_URL=http://dotenv\nOTHER=x\n")
    found = env_settings({"OPENAI_API_KEY": "from-env"}, dotenv=dotenv)
    assert found == {"OPENAI_API_KEY": "from-env", "OPENAI_BASE_URL": "http://dotenv"}
    assert env_settings({}, dotenv=tmp_path / "missing.env") == {}


def test_redact_masks_given_keys_and_key_shaped_text() -> None:
    text = f"bad key {KEY} and sk-abcdefghijklmnop and secret-azure"
    out = redact(text, ("secret-azure",))
    assert KEY not in out and "secret-azure" not in out
    assert "sk-abcdefghijklmnop" not in out
