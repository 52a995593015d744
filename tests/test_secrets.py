"""Secrets are never printed or stored, and every error is one bounded line (issue 16: 3, 16)."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson
import pytest
from apptest_support import on_page

from ftkit.api import calling
from ftkit.cli import main
from ftkit.errors import MAX_MESSAGE, ApiError, FtkitError, cut_message, redact_text
from ftkit.errors import strip_userinfo as strip
from ftkit.history import redact as history_redact
from ftkit.providers import SETTING_NAMES, ProviderSettings, client_from_settings
from ftkit.training.files import upload_file
from ftkit.training.upload_cache import make_private_file, make_private_folder
from tests.fake_chat import serve
from tests.fake_openai import KEY, FakeOpenAI, shared_fake
from tests.test_files_upload import write_examples

# ---- the two functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://user:pw@host/v1", "http://host/v1"),
        ("https://user@host:8443/v1", "https://host:8443/v1"),
        ("http://:only-pw@10.0.0.1/v1", "http://10.0.0.1/v1"),
        ("HTTPS://A:B@Host.example/v1?x=1", "HTTPS://Host.example/v1?x=1"),
        ("postgresql+psycopg://ftkit:s3cret@db:5432/ftkit", "postgresql+psycopg://db:5432/ftkit"),
        ("http://host/v1", "http://host/v1"),
        ("http://host/v1/a@b", "http://host/v1/a@b"),  # an @ in the path is no password
        ("asked http://u:p@h/v1 and http://v:q@i/v1", "asked http://h/v1 and http://i/v1"),
    ],
)
def test_strip_userinfo_drops_user_and_password_from_any_url(url: str, clean: str) -> None:
    assert strip(url) == clean


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Incorrect API key provided: sk-abcdefghijklmnopqrstuvwxyz012345.", "sk-abcdefghij"),
        ("bad key sk-proj-AbCdEf_0123456789-xyzXYZ now", "AbCdEf_0123456789"),
        ("sent Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("header bearer 0123456789abcdef0123 refused", "0123456789abcdef0123"),
        ("?api-key=0123456789abcdef0123456789abcdef&x=1", "0123456789abcdef"),
        ('{"api_key": "my-own-secret-value"}', "my-own-secret-value"),
        ("x-api-key: azure-key-123456", "azure-key-123456"),
        ("password=hunter22 was wrong", "hunter22"),
        ("access_token=abc.def.ghi", "abc.def.ghi"),
        ("cannot reach http://admin:pa55word@host/v1", "pa55word"),
        ('{"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpwYXNzd29yZA"),
        ("Authorization: token-abcdef123456", "token-abcdef123456"),
    ],
)
def test_redact_text_masks_secret_shaped_text(text: str, secret: str) -> None:
    shown = redact_text(text)
    assert secret not in shown and shown != text


def test_redact_text_masks_the_configured_key_whatever_its_shape() -> None:
    key = "plainkey0123456789"  # no prefix, nothing marks it as a key but being ours
    shown = redact_text(f"server says: your key {key} is wrong ({key})", [key, None, ""])
    assert key not in shown and shown.count("***") == 2


def test_redact_text_leaves_ordinary_words_and_counts_alone() -> None:
    text = (
        "trained_tokens=1200 max_tokens: 5 the API key provided is wrong; see https://x.io/a "
        "a basic mistake in the Bearer field; unexpected token: '}'"
    )
    assert redact_text(text) == text


def test_cut_message_keeps_the_start_and_counts_the_rest() -> None:
    assert cut_message("short") == "short"
    cut = cut_message("a" * 10_000)
    assert cut == "a" * MAX_MESSAGE + f"… ({10_000 - MAX_MESSAGE:,} more characters)"


def test_every_ftkit_error_is_redacted_and_bounded() -> None:
    err = FtkitError(f"http://u:pw@h/v1 said {'z' * 5_000_000} Bearer abcdef123456")
    assert "pw" not in str(err) and len(str(err)) < 2 * MAX_MESSAGE + 40
    assert str(err).endswith("more characters)")


def test_the_history_keeps_an_endpoint_without_its_password() -> None:
    stored = history_redact({"base_url": "http://user:pw@host/v1", "note": "Bearer abcdef123456"})
    assert stored == {"base_url": "http://host/v1", "note": "[redacted]"}


# ---- against the fake server ----------------------------------------------------------------


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeOpenAI:
    server = shared_fake()
    monkeypatch.chdir(tmp_path)
    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    return server


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the CLI; return its exit code and stderr, after checking it printed one clean line."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


@pytest.mark.parametrize(
    "wrong_key",
    [
        "sk-proj-" + "Q" * 48,
        "0123456789abcdef0123456789abcdef",  # Azure-shaped
        "my key with spaces 123",
        "k" * 6,
    ],
    ids=["sk-proj", "hex", "spaces", "short"],
)
@pytest.mark.parametrize(
    "argv",
    [("jobs", "list"), ("models",), ("upload", "train.jsonl", "--no-wait")],
    ids=["jobs", "models", "upload"],
)
def test_a_401_echoing_the_key_never_prints_it(
    fake: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    wrong_key: str,
    argv: tuple[str, ...],
) -> None:
    write_examples(tmp_path / "train.jsonl")
    monkeypatch.setenv("OPENAI_API_KEY", wrong_key)
    fake.echo_key = True
    code, err = cli(capsys, *argv)
    assert code == 2 and err.startswith("ftkit: error: ") and err.count("\n") == 1
    assert "authentication failed (401)" in err and wrong_key not in err


def test_a_key_echoed_at_the_cut_shows_no_part_of_it(fake: FakeOpenAI) -> None:
    key = "plain-" + "k" * 600  # longer than the cut: its first 500 characters must not show
    client = client_from_settings(ProviderSettings(api_key=key, base_url=fake.url), max_retries=0)
    fake.require_key = key + "-other"  # any key is refused, and echoed
    fake.echo_key = True
    with pytest.raises(ApiError) as caught, calling("listing files"):
        client.files.list()
    assert "plain-k" not in str(caught.value) and "kkkkkkkkkk" not in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "method", "path", "action"),
    [
        (("jobs", "list"), "GET", "/fine_tuning/jobs", "listing fine-tuning jobs"),
        (("models",), "GET", "/models", "listing models"),
        (("upload", "train.jsonl", "--no-wait"), "POST", "/files", "train.jsonl: uploading"),
    ],
    ids=["jobs", "models", "upload"],
)
def test_a_10_mb_error_message_is_one_short_line(
    fake: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: tuple[str, ...],
    method: str,
    path: str,
    action: str,
) -> None:
    write_examples(tmp_path / "train.jsonl")
    fake.inject(method, path, "huge")
    code, err = cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and len(err) < 1200
    assert action in err and "invalid request (400)" in err and "more characters)" in err


CALLS = {
    "jobs-list": (("jobs", "list"), "GET", "/fine_tuning/jobs", "listing fine-tuning jobs"),
    "jobs-show": (("jobs", "show", "{job}"), "GET", "/fine_tuning/jobs/*", "looking up the job"),
    "jobs-cancel": (("jobs", "cancel", "{job}"), "POST", "/fine_tuning/jobs/*", "cancelling"),
    "models": (("models",), "GET", "/models", "listing models"),
    "upload-wait": (("upload", "other.jsonl"), "GET", "/files/*", "checking processing"),
}
UNREADABLE = [
    pytest.param(kind, *call, id=f"{name}-{kind}")
    for name, call in CALLS.items()
    for kind in ("badjson", "wrongtypes", "empty")
    if (name, kind) != ("models", "empty")  # {} is a valid, empty, model list
]


@pytest.mark.parametrize(("kind", "argv", "method", "path", "action"), UNREADABLE)
def test_an_unreadable_200_reply_is_one_line_naming_the_call(
    fake: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    kind: str,
    argv: tuple[str, ...],
    method: str,
    path: str,
    action: str,
) -> None:
    write_examples(tmp_path / "other.jsonl")
    client = client_from_settings(ProviderSettings(api_key=KEY, base_url=fake.url), max_retries=0)
    train = fake.add_file("t.jsonl", "fine-tune", b"{}", 2, "x")["id"]
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train)
    fake.inject(method, path, kind, times=5)
    code, err = cli(capsys, *(arg.format(job=job.id) for arg in argv))
    assert code == 2 and err.startswith("ftkit: error: ") and err.count("\n") == 1
    assert action in err and "reply cannot be read" in err


def test_an_unreadable_reply_to_an_upload_creates_no_second_file(fake: FakeOpenAI) -> None:
    client = client_from_settings(ProviderSettings(api_key=KEY, base_url=fake.url), max_retries=0)
    path = write_examples(Path("train.jsonl"))
    fake.inject("POST", "/files", "badjson")
    result = upload_file(client, path, endpoint=fake.url, sleep=lambda _: None)
    assert list(fake.state.files) == [result.file["id"]]
    assert len(fake.calls("POST", "/files")) == 1


# ---- what is stored -------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_uploads_json_keeps_no_password_and_is_owner_only(fake: FakeOpenAI) -> None:
    fake.require_key = ""  # httpx sends the URL's user and password instead of the key
    url = fake.url.replace("http://", "http://ana:pa55word@")
    client = client_from_settings(ProviderSettings(api_key=KEY, base_url=url), max_retries=0)
    path = write_examples(Path("train.jsonl"))
    settings = ProviderSettings(api_key=KEY, base_url=url)
    first = upload_file(client, path, endpoint=settings.endpoint, sleep=lambda _: None)
    store = Path(".ftkit") / "uploads.json"
    text = store.read_text()
    assert "pa55word" not in text and "ana" not in text and fake.url in text
    assert mode(store) == 0o600 and mode(store.parent) == 0o700
    again = upload_file(client, path, endpoint=settings.endpoint, sleep=lambda _: None)
    assert again.reused and again.file["id"] == first.file["id"]


def test_an_old_store_with_a_password_is_cleaned_on_the_next_write(fake: FakeOpenAI) -> None:
    store = Path(".ftkit") / "uploads.json"
    store.parent.mkdir(mode=0o755)
    store.parent.chmod(0o755)
    old = {"endpoint": "http://u:pw@old/v1", "purpose": "fine-tune", "content_key": "md5:a:1"}
    entry = {**old, "file_id": "file-old", "filename": "a.jsonl", "bytes": 1}
    store.write_bytes(orjson.dumps({"k": entry}))
    client = client_from_settings(ProviderSettings(api_key=KEY, base_url=fake.url), max_retries=0)
    upload_file(client, write_examples(Path("t.jsonl")), endpoint=fake.url, sleep=lambda _: None)
    assert ":pw@" not in store.read_text() and "http://old/v1" in store.read_text()
    assert mode(store) == 0o600 and mode(store.parent) == 0o700


def test_the_cli_history_database_is_owner_only(
    fake: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FTKIT_DATABASE_URL")  # the default: .ftkit/ftkit.db here
    write_examples(tmp_path / "train.jsonl")
    code, _ = cli(capsys, "upload", "train.jsonl")
    assert code == 0
    folder = tmp_path / ".ftkit"
    assert mode(folder) == 0o700
    files = [p for p in folder.iterdir() if p.is_file()]
    assert {"ftkit.db", "uploads.json"} <= {p.name for p in files}
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


def test_private_helpers_create_and_tighten(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / ".ftkit"
    make_private_folder(folder)
    assert mode(folder) == 0o700
    folder.chmod(0o755)
    make_private_folder(folder)
    assert mode(folder) == 0o700
    target = folder / "x.db"
    make_private_file(target)
    assert target.read_bytes() == b"" and mode(target) == 0o600
    target.write_bytes(b"data")
    target.chmod(0o644)
    make_private_file(target)
    assert target.read_bytes() == b"data" and mode(target) == 0o600


def test_a_reply_that_is_not_json_names_the_call(fake: FakeOpenAI) -> None:
    client = client_from_settings(ProviderSettings(api_key=KEY, base_url=fake.url), max_retries=0)
    fake.inject("GET", "/files", "badjson")
    expected = r"^listing files: the endpoint's reply cannot be read"
    with pytest.raises(ApiError, match=expected), calling("listing files"):
        client.files.list()


# ---- evaluate (the chat server echoes the key) ----------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Incorrect API key provided: {key}.",
        "{pad}{key}",  # 10 MB, with the key at the end
        "{key}" + "y" * 600,  # the key, then more than the cut
    ],
    ids=["echo", "huge", "key-then-long"],
)
def test_evaluate_never_prints_a_key_a_401_echoes_and_stays_short(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    message: str,
) -> None:
    key = "azure0123456789abcdef0123456789ab"  # not shaped like sk-
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", key)
    for name in ("OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    text = message.format(key=key, pad="z" * 10_000_000)
    with serve(lambda body, attempt: ("status", 401, {}, text)) as server:
        argv = ["evaluate", "--model", "gpt-4o-mini", "--size", "3", "--base-url", server.url]
        code, err = cli(capsys, *argv, "--no-save", "--no-history")
    last = err.splitlines()[-1]
    assert code == 2 and last.startswith("ftkit: error: ") and err.count("ftkit: error") == 1
    assert "401" in last and key not in err and key[:12] not in err and len(last) < 1200


# ---- the Train page ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shown"),
    [("huge", "more characters)"), ("badjson", "reply cannot be read"), ("echo", "(401)")],
)
def test_the_upload_page_shows_one_short_line_without_the_key(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, kind: str, shown: str
) -> None:
    for name in (*SETTING_NAMES, "FTKIT_HOSTED"):
        monkeypatch.delenv(name, raising=False)
    typed_key = "typed0123456789abcdef0123456789"
    if kind == "echo":
        fake.echo_key = True
    else:
        fake.require_key = typed_key
        fake.inject("GET", "/files", kind, times=10)
    at = on_page("train", timeout=30)
    at.run()
    at.sidebar.text_input(key="_input_openai_api_key").input(typed_key)
    at.sidebar.text_input(key="_input_openai_base_url").input(fake.url).run()
    at.button(key="upload_lists").click().run()
    (error,) = [e.value for e in at.error]
    assert shown in error and typed_key not in error and len(error) < 1200
    assert not at.exception
