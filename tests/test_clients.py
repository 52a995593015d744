"""make_client: OpenAI, Azure and compatible servers, from arguments, environment or .env."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from ftkit.clients import make_client
from ftkit.errors import CredentialsError
from ftkit.providers import SETTING_NAMES

SETTINGS = SETTING_NAMES


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_no_key_says_what_to_set() -> None:
    with pytest.raises(CredentialsError, match="set OPENAI_API_KEY"):
        make_client()


def test_key_and_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    client = make_client(timeout=3, max_retries=0)
    assert type(client) is openai.OpenAI and client.api_key == "sk-env"
    assert str(client.base_url).startswith("http://127.0.0.1:9/v1")
    assert client.max_retries == 0


def test_dot_env_is_the_fallback(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-dotenv\n")
    assert make_client().api_key == "sk-dotenv"


def test_a_local_server_needs_no_key() -> None:
    client = make_client(base_url="http://127.0.0.1:11434/v1")
    assert client.api_key == "not-needed"


def test_azure_is_chosen_by_its_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://me.openai.azure.com")
    with pytest.raises(CredentialsError, match="set AZURE_OPENAI_API_KEY"):
        make_client()
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
    with pytest.raises(CredentialsError, match="set OPENAI_API_VERSION"):
        make_client()
    client = make_client(api_version="2024-10-21")
    assert isinstance(client, openai.AzureOpenAI)
