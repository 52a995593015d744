"""The hosted endpoint guard: typed endpoints must be public http(s) unless the operator allows."""

from __future__ import annotations

from typing import Any

import pytest

from ftkit.endpoints import EndpointGuard, generic_reason
from ftkit.errors import ConfigError, EvaluationError, ProviderError
from ftkit.evaluation.chat import ChatPredictor
from ftkit.hosting import HostingConfig
from ftkit.items import Item
from ftkit.providers import ProviderSettings, client_from_settings
from tests.fake_chat import serve

NAMES = {
    "sneaky.example": ["127.0.0.1"],
    "mixed.example": ["8.8.8.8", "10.1.2.3"],
    "public.example": ["8.8.8.8", "2001:4860:4860::8888"],
}


def fake_dns(host: str, port: int) -> list[str]:
    if host in NAMES:
        return NAMES[host]
    from ftkit.endpoints import resolve_host

    return resolve_host(host, port)  # IP literals and localhost resolve without a network


def guard(**options: Any) -> EndpointGuard:
    return EndpointGuard(resolve=fake_dns, **options)


REFUSED = [
    ("http://127.0.0.1:8000/v1", "loopback"),
    ("http://localhost:11434/v1", "loopback"),
    ("http://10.0.0.5/v1", "private"),
    ("http://172.16.3.4/v1", "private"),
    ("https://192.168.1.10/v1", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[::1]:8000/v1", "loopback"),
    ("http://[fd00::1]/v1", "unique-local"),
    ("http://[fe80::1]/v1", "link-local"),
    ("http://0.0.0.0:8000/v1", "unspecified"),
    ("http://224.0.0.1/v1", "multicast"),
    ("http://240.0.0.1/v1", "reserved"),
    ("http://[::ffff:127.0.0.1]/v1", "loopback"),
    ("http://sneaky.example/v1", "loopback"),  # a name that resolves to loopback
    ("http://mixed.example/v1", "private"),  # every address counts, not just the first
]


@pytest.mark.parametrize(("url", "kind"), REFUSED)
def test_internal_addresses_are_refused_with_one_line(url: str, kind: str) -> None:
    with pytest.raises(ProviderError) as caught:
        guard().check(url, field="Base URL")
    message = str(caught.value)
    article = "an" if kind == "unspecified" else "a"
    assert message.startswith("Base URL: ") and f"is {article} {kind} address" in message
    assert "\n" not in message and "allowed_endpoint_hosts" in message


@pytest.mark.parametrize(("url", "kind"), REFUSED)
def test_the_operator_can_allow_each_host_by_name(url: str, kind: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    entry = f"[{host}]" if ":" in host else host
    guard(allowed_hosts=frozenset({entry})).check(url, field="Base URL")
    with_port = f"{entry}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    guard(allowed_hosts=frozenset({with_port})).check(url, field="Base URL")
    with pytest.raises(ProviderError):  # a host:port entry allows that port only
        guard(allowed_hosts=frozenset({f"{entry}:1"})).check(url, field="Base URL")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://10.0.0.5/v1", True),
        ("http://192.168.1.10/v1", True),
        ("http://[fd00::1]/v1", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://169.254.169.254/latest", False),  # the metadata address needs naming
        ("http://0.0.0.0/v1", False),
        ("http://224.0.0.1/v1", False),
    ],
)
def test_allow_private_endpoints_opens_private_ranges_only(url: str, allowed: bool) -> None:
    check = guard(allow_private=True)
    if allowed:
        check.check(url, field="Base URL")
    else:
        with pytest.raises(ProviderError):
            check.check(url, field="Base URL")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("file:///etc/passwd", "expected an http:// or https:// URL"),
        ("ftp://public.example/v1", "expected an http:// or https:// URL"),
        ("public.example/v1", "expected an http:// or https:// URL"),
        ("http://user:pw@public.example/v1", "user name or password"),
        ("http://public.example:99999/v1", "invalid port"),
        ("http://no-such-host.invalid/v1", "cannot be resolved"),
    ],
)
def test_malformed_endpoints_are_refused_naming_the_field(url: str, problem: str) -> None:
    with pytest.raises(ProviderError, match=problem) as caught:
        guard().check(url, field="Azure OpenAI endpoint")
    assert str(caught.value).startswith("Azure OpenAI endpoint: ")


def test_public_and_trusted_endpoints_pass() -> None:
    guard().check("https://public.example/v1", field="Base URL")
    trusted = guard(trusted=frozenset({"http://10.9.9.9:8000/v1"}))
    trusted.check("http://10.9.9.9:8000/v1/", field="Base URL")  # the operator's own endpoint


def test_operator_settings_come_from_secrets() -> None:
    config = HostingConfig.from_mapping(
        {
            "ftkit": {
                "allowed_endpoint_hosts": ["10.0.0.5", "LLM.internal:8000"],
                "allow_private_endpoints": True,
            }
        },
        env={},
    )
    assert config.allowed_endpoint_hosts == {"10.0.0.5", "llm.internal:8000"}
    assert config.allow_private_endpoints
    assert not HostingConfig().allow_private_endpoints
    with pytest.raises(ConfigError, match=r"ftkit\.allow_private_endpoints"):
        HostingConfig.from_mapping({"ftkit": {"allow_private_endpoints": "perhaps"}}, env={})


def ask(url: str, checker: EndpointGuard) -> str:
    settings = ProviderSettings(api_key="sk-typed-" + "t" * 20, base_url=url)
    client = client_from_settings(settings, guard=checker, max_retries=0, timeout=5)
    predictor = ChatPredictor(client=client, model="gpt-4o-mini", max_attempts=1)
    with pytest.raises(EvaluationError) as caught:
        predictor(Item(title="Kettle", price=40.0, details="A kettle"))
    return str(caught.value)


def test_a_redirect_to_the_metadata_address_is_not_followed() -> None:
    target = {"Location": "http://169.254.169.254/latest/meta-data/"}
    with serve(lambda body, attempt: ("status", 307, target)) as fake:
        typed = ask(fake.url, guard(allowed_hosts=frozenset({"127.0.0.1"})))
        operator = ask(fake.url, guard(trusted=frozenset({fake.url})))
    assert typed == f"gpt-4o-mini: HTTP 307: {generic_reason(307)}"
    assert operator == "gpt-4o-mini: HTTP 307: fake error 307"
    assert len(fake.requests) == 2


def test_a_name_that_turns_internal_after_the_check_is_refused_at_connect_time() -> None:
    answers = iter([["8.8.8.8"], ["127.0.0.1"]])  # DNS rebinding: public first, then loopback

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers, ["127.0.0.1"])

    with serve(lambda body, attempt: ("answer", "12")) as fake:
        port = fake.url.split(":")[2].split("/")[0]
        message = ask(f"http://localhost:{port}/v1", EndpointGuard(resolve=rebinding))
    assert message == "Kettle: gave up after 1 attempts (Connection error.)"
    assert fake.requests == []


def test_a_typed_endpoints_error_body_is_never_read_but_the_operators_is() -> None:
    secret = "internal stack trace: db password hunter2"
    with serve(lambda body, attempt: ("status", 400, {}, secret)) as fake:
        typed = ask(fake.url, guard(allowed_hosts=frozenset({"127.0.0.1"})))
        operator = ask(fake.url, guard(trusted=frozenset({fake.url})))
    assert typed == "gpt-4o-mini: HTTP 400: the endpoint rejected the request"
    assert secret not in typed
    assert operator == f"gpt-4o-mini: HTTP 400: {secret}"


def test_a_proxy_from_the_environment_is_used_behind_the_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "internal stack trace: db password hunter2"
    with serve(lambda body, attempt: ("status", 400, {}, secret)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.removesuffix("/v1"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        message = ask("http://public.example/v1", guard())
    assert len(proxy.requests) == 1  # the request went through the proxy
    assert message == "gpt-4o-mini: HTTP 400: the endpoint rejected the request"
