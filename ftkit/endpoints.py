"""Which endpoints a hosted dashboard may call, and how a typed endpoint's errors are shown.

In hosted mode a base URL or Azure endpoint typed by a user is checked before any request: it
must be http(s), and every address its host resolves to must be public (not loopback, private,
link-local such as 169.254.169.254, unique-local, multicast, reserved or unspecified). The
operator opens exceptions in ``.streamlit/secrets.toml``::

    [ftkit]
    allowed_endpoint_hosts = ["10.0.0.5", "llm.internal:8000"]   # any address, by name
    allow_private_endpoints = true    # private, unique-local and loopback addresses (never
                                      # link-local, multicast, reserved or unspecified)

The operator's own configured endpoint is trusted. Clients for a hosted dashboard follow no
redirects, check the host again on every request and connect only to the addresses just checked
(a changed DNS answer cannot slip through). A typed endpoint's error responses reach the page as
status and a generic reason only, and its answers are read uncompressed and up to 16 MB.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore2
import httpx2

from ftkit.errors import ProviderError

__all__ = [
    "MAX_TYPED_RESPONSE_BYTES",
    "OPENAI_ENDPOINT",
    "EndpointGuard",
    "HidingTransport",
    "env_proxy",
    "generic_reason",
    "normalize_endpoint",
    "resolve_host",
]

OPENAI_ENDPOINT = "https://api.openai.com/v1"
MAX_TYPED_RESPONSE_BYTES = 16 * 2**20  # a typed endpoint's answer; chat answers are a few kB
Resolver = Callable[[str, int], list[str]]
_ULA = ipaddress.ip_network("fc00::/7")
_PRIVATE_KINDS = frozenset({"private", "unique-local", "loopback"})
_KEPT_HEADERS = ("retry-after", "retry-after-ms", "x-request-id", "apim-request-id")
_REASONS = {
    400: "the endpoint rejected the request",
    401: "the endpoint refused the key",
    403: "the endpoint denied access",
    404: "not found at the endpoint (check the model name and the endpoint)",
    408: "the endpoint timed out",
    409: "the endpoint reported a conflict",
    413: "the request was too large for the endpoint",
    422: "the endpoint could not process the request",
    429: "rate limited by the endpoint",
}


def generic_reason(status: int) -> str:
    """Return a reason for ``status`` that says nothing the endpoint wrote."""
    if status in _REASONS:
        return _REASONS[status]
    if 300 <= status < 400:
        return "the endpoint answered with a redirect, which is not followed"
    if status >= 500:
        return "server error at the endpoint"
    return "the endpoint refused the request"


def normalize_endpoint(url: str | None) -> str:
    """Return ``url`` as compared with others: lower-case scheme and host, no trailing slash."""
    text = (url or OPENAI_ENDPOINT).strip()
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text.rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def resolve_host(host: str, port: int) -> list[str]:
    """Return every address ``host`` resolves to; raise ``ProviderError`` when it does not."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ProviderError(f"endpoint host {host}: cannot be resolved") from None
    addresses = sorted({str(info[4][0]).split("%", 1)[0] for info in found})
    if not addresses:
        raise ProviderError(f"endpoint host {host}: cannot be resolved")
    return addresses


def _address_kind(address: str) -> str | None:
    """Return why ``address`` is not public ("loopback", "link-local", ...), or None."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):  # an IPv4 address inside: ::ffff:a.b.c.d, 6to4
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unique-local", isinstance(ip, ipaddress.IPv6Address) and ip in _ULA),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _split_entry(entry: str) -> tuple[str, int | None]:
    """Return (host, port or None) for an allow-list entry: host, host:port, [v6] or [v6]:port."""
    text = entry.strip().lower()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port) if port.isdigit() else None
    return text, None


@dataclass(frozen=True)
class EndpointGuard:
    """The hosted dashboard's rules for endpoints; ``trusted`` holds the operator's own."""

    allowed_hosts: frozenset[str] = frozenset()
    allow_private: bool = False
    trusted: frozenset[str] = frozenset()
    resolve: Resolver = field(default=resolve_host, compare=False)

    @classmethod
    def build(
        cls, allowed_hosts: Iterable[str], allow_private: bool, trusted: Iterable[str | None]
    ) -> EndpointGuard:
        """Return a guard; ``trusted`` URLs (None is skipped) are normalized."""
        return cls(
            allowed_hosts=frozenset(h.strip().lower() for h in allowed_hosts if h.strip()),
            allow_private=allow_private,
            trusted=frozenset(normalize_endpoint(url) for url in trusted if url),
        )

    def is_trusted(self, url: str | None) -> bool:
        """Return True for the operator's configured endpoint."""
        return normalize_endpoint(url) in self.trusted

    def _trusted_origin(self, host: str, port: int) -> bool:
        for url in self.trusted:
            parts = urlsplit(url)
            if parts.hostname == host and (parts.port or _default_port(parts.scheme)) == port:
                return True
        return False

    def _allowed_by_name(self, host: str, port: int) -> bool:
        for entry in self.allowed_hosts:
            name, wanted = _split_entry(entry)
            if name == host and wanted in (None, port):
                return True
        return False

    def passes_by_name(self, host: str, port: int) -> bool:
        """Return True for the operator's endpoint and the hosts allowed by name."""
        host = host.lower()
        return self._trusted_origin(host, port) or self._allowed_by_name(host, port)

    def checked_addresses(self, host: str, port: int, *, field: str) -> list[str]:
        """Return every address ``host`` has; raise ``ProviderError`` if any may not be called."""
        host = host.lower()
        try:
            addresses = self.resolve(host, port)
        except ProviderError:
            raise ProviderError(f"{field}: host {_short(host)} cannot be resolved") from None
        for address in addresses:
            kind = _address_kind(address)
            if kind is None or (self.allow_private and kind in _PRIVATE_KINDS):
                continue
            shown = "" if address == host else f" ({address})"
            article = "an" if kind == "unspecified" else "a"
            raise ProviderError(
                f"{field}: {_short(host)}{shown} is {article} {kind} address, which this server "
                "does not call; its operator can allow it in secrets.toml "
                "([ftkit] allowed_endpoint_hosts)"
            )
        return addresses

    def check_host(self, host: str, port: int, *, field: str) -> None:
        """Raise ``ProviderError`` unless ``host`` may be called; check every address it has."""
        if not self.passes_by_name(host, port):
            self.checked_addresses(host, port, field=field)

    def check(self, url: str, *, field: str) -> None:
        """Raise ``ProviderError`` (one line naming ``field``) unless ``url`` may be called."""
        if self.is_trusted(url):
            return
        if any(ord(char) < 32 or ord(char) == 127 for char in url.strip()):
            raise ProviderError(f"{field}: the URL holds a control character (a line break?)")
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ProviderError(
                f"{field}: expected an http:// or https:// URL, got {_short(url)!r}"
            )
        if parts.username is not None or parts.password is not None:
            raise ProviderError(f"{field}: a URL with a user name or password is not accepted")
        try:
            port = parts.port or _default_port(parts.scheme)
        except ValueError:
            raise ProviderError(f"{field}: {_short(url)!r} has an invalid port") from None
        self.check_host(parts.hostname, port, field=field)


def _short(text: str, limit: int = 80) -> str:
    """Return ``text`` cut to ``limit`` characters, so a refusal stays one readable line."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _default_port(scheme: str) -> int:
    return 443 if scheme.lower() == "https" else 80


def env_proxy(url: str) -> str | None:
    """Return the proxy the environment names for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``...)."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme.lower())


class _PinnedBackend(httpcore2.SyncBackend):
    """Connect only to addresses the guard has just checked: one DNS answer per connection.

    Checking a name and then letting the socket resolve it again would let a name that turns
    internal in between (DNS rebinding) through. The operator's proxy, endpoint and allowed
    names are connected by name.
    """

    def __init__(self, guard: EndpointGuard, proxy: str | None) -> None:
        self._guard = guard
        parts = urlsplit(proxy) if proxy else None
        self._proxy = (parts.hostname, parts.port or _default_port(parts.scheme)) if parts else None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        """Open a connection to one of ``host``'s checked addresses."""
        if (host.lower(), port) == self._proxy or self._guard.passes_by_name(host, port):
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = self._guard.checked_addresses(host, port, field="host")
        except ProviderError as err:
            raise httpcore2.ConnectError(str(err)) from None
        failure = httpcore2.ConnectError(f"host {_short(host)}: no address answered")
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore2.ConnectError as err:
                failure = err
        raise failure


class _CappedStream(httpx2.SyncByteStream):
    """A typed endpoint's response body, cut off with a ``ReadError`` past ``limit`` bytes."""

    def __init__(self, inner: httpx2.SyncByteStream, limit: int, request: httpx2.Request):
        self._inner = inner
        self._limit = limit
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise httpx2.ReadError(
                    f"the endpoint's answer is over {self._limit // 2**20} MB",
                    request=self._request,
                )
            yield chunk

    def close(self) -> None:
        """Close the connection's stream."""
        self._inner.close()


class HidingTransport(httpx2.BaseTransport):
    """Check every request's host; keep a typed endpoint's answers small and its errors generic.

    The operator's own endpoint's error bodies pass with the request's keys masked (it may echo
    the server's key). With ``hide_errors`` (a typed endpoint) error bodies are replaced by a
    generic one, and bodies are asked for uncompressed and cut off past
    ``MAX_TYPED_RESPONSE_BYTES`` (a compressed answer is refused: it could inflate without
    bound). A client with its own transport takes no proxy from the environment, so the one
    the environment names for the endpoint (``env_proxy``) is passed here, behind the checks.
    """

    def __init__(self, guard: EndpointGuard, *, hide_errors: bool, proxy: str | None = None):
        self._guard = guard
        self._hide_errors = hide_errors
        self._inner = httpx2.HTTPTransport(proxy=proxy)
        self._inner._pool._network_backend = _PinnedBackend(guard, proxy)  # no public hook

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` if the guard agrees; return the response, error bodies hidden."""
        url = request.url
        try:
            self._guard.check_host(url.host, url.port or _default_port(url.scheme), field="host")
        except ProviderError as err:
            raise httpx2.ConnectError(str(err), request=request) from None
        if self._hide_errors:
            request.headers["accept-encoding"] = "identity"
        response = self._inner.handle_request(request)
        if not self._hide_errors:
            return _masked(request, response) if response.status_code >= 300 else response
        if response.status_code >= 300:
            return _hidden(request, response)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            response.close()
            raise httpx2.ReadError(
                f"the endpoint sent a {_short(encoding)!r}-compressed answer", request=request
            )
        assert isinstance(response.stream, httpx2.SyncByteStream)
        response.stream = _CappedStream(response.stream, MAX_TYPED_RESPONSE_BYTES, request)
        return response

    def close(self) -> None:
        """Close the connections."""
        self._inner.close()


def _masked(request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
    """Return the operator's error ``response`` with the keys the request carried masked."""
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    keys = [key for key in (bearer, request.headers.get("api-key", "").strip()) if key]
    text = response.read().decode(errors="replace")
    for key in keys:
        text = text.replace(key, "***")
    dropped = ("content-length", "content-encoding", "transfer-encoding")
    headers = {k: v for k, v in response.headers.items() if k.lower() not in dropped}
    return httpx2.Response(
        response.status_code, headers=headers, content=text.encode(), request=request
    )


def _hidden(request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
    """Return ``response`` with its body, unread, replaced by a generic reason."""
    response.close()
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    headers["content-type"] = "application/json"
    payload = {"error": {"message": generic_reason(response.status_code), "type": "hidden"}}
    return httpx2.Response(
        response.status_code,
        headers=headers,
        content=json.dumps(payload).encode(),
        request=request,
    )
