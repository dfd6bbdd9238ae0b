"""One HTTP session per store: authentication, timeouts and errors in one place.

Registries answer an unauthenticated request with ``401`` and a
``WWW-Authenticate`` challenge. ``Basic`` is answered with the credentials;
``Bearer realm=…,service=…,scope=…`` (the distribution spec's token flow,
which Gitea, Harbor and Docker Hub use) is answered by fetching a token from
the realm with the credentials, once per scope. A ChartMuseum-API repository
takes Basic credentials up front.

httpx errors never leave this module: they become :class:`StoreUnreachable`
naming the store; a refusal after the credentials were offered becomes
:class:`StoreRefused`. Credentials are never sent in cleartext to a host that
is not this machine (``GITWARD_ALLOW_INSECURE=1`` overrides, as for git).
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import httpx

from gitward.artifacts.credentials import Credentials
from gitward.artifacts.errors import StoreRefused, StoreUnreachable
from gitward.errors import ConfigError
from gitward.hosts import is_loopback

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Store:
    """A store as messages name it: ``registry 127.0.0.1:5000``."""

    kind: str  # "registry", "chart repository"
    display: str  # host or URL without credentials

    def __str__(self) -> str:
        return f"{self.kind} {self.display}"


class _ChallengeAuth(httpx.Auth):
    """Answers a registry's 401 challenge (Basic or Bearer token) with the credentials."""

    requires_request_body = True  # an upload is sent again once the challenge is answered

    def __init__(self, credentials: Credentials | None, client: Session) -> None:
        self._credentials = credentials
        self._session = client
        self._tokens: dict[str, str] = {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        scope_key = request.url.path.split("/manifests/")[0].split("/blobs/")[0]
        if token := self._tokens.get(scope_key):
            request.headers["Authorization"] = token
        response = yield request
        if response.status_code != 401 or self._credentials is None:
            return
        # A registry may offer several schemes, one header each (Gitea: Bearer, then
        # Basic); the token flow is preferred, as docker and helm do.
        offered: dict[str, str] = {}
        for challenge in response.headers.get_list("WWW-Authenticate"):
            scheme, _, rest = challenge.strip().partition(" ")
            offered.setdefault(scheme.lower(), rest)
        if "bearer" in offered:
            params = dict(_PARAM.findall(offered["bearer"]))
            header = f"Bearer {self._session.token(params, request)}"
        elif "basic" in offered:
            header = f"Basic {self._credentials.basic()}"
        else:
            return
        self._tokens[scope_key] = header
        request.headers["Authorization"] = header
        yield request


class Session:
    """An HTTP client for one store; ``credentials`` may be ``None`` (anonymous)."""

    def __init__(
        self,
        *,
        store: Store,
        base_url: str,
        credentials: Credentials | None,
        basic: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.credentials = credentials
        url = httpx.URL(base_url)
        if (
            credentials is not None
            and url.scheme == "http"
            and not is_loopback(url.host)
            and os.environ.get("GITWARD_ALLOW_INSECURE") != "1"
        ):
            raise ConfigError(
                f"{store}: refusing to send credentials over plain http to a host that is not "
                "this machine; use https (or GITWARD_ALLOW_INSECURE=1)"
            )
        auth: httpx.Auth
        if basic and credentials is not None:
            auth = httpx.BasicAuth(credentials.username, credentials.password)
        else:
            auth = _ChallengeAuth(credentials, self)
        tls = url.scheme == "https"
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=TIMEOUT,
            # Plain http is only ever this machine: no certificates to load (which
            # costs a noticeable part of a no-op run), and no redirect to follow
            # elsewhere without them.
            verify=tls,
            follow_redirects=tls,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """Send; a transport failure or a 5xx raises :class:`StoreUnreachable`,
        a 401/403 :class:`StoreRefused`. Other statuses are the caller's to judge."""
        try:
            response = self._client.request(method, url, **kw)
        except httpx.TransportError as e:
            raise StoreUnreachable(f"{self.store}: cannot connect: {_reason(e)}") from e
        if response.status_code >= 500:
            raise StoreUnreachable(
                f"{self.store}: {method} {response.url.path} failed: HTTP {response.status_code}"
            )
        if response.status_code in (401, 403):
            raise self.refused(response)
        return response

    def refused(self, response: httpx.Response) -> StoreRefused:
        who = (
            f"the credentials from {self.credentials.origin} (user {self.credentials.username})"
            if self.credentials
            else "anonymous access (no credentials found)"
        )
        return StoreRefused(
            f"{self.store}: refused {who}: HTTP {response.status_code} "
            f"on {response.request.method} {response.url.path}"
        )

    def token(self, params: dict[str, str], request: httpx.Request) -> str:
        """A bearer token from the challenge's realm, fetched with Basic credentials."""
        realm = params.pop("realm", "")
        if not realm:
            raise StoreRefused(f"{self.store}: a Bearer challenge without a realm")
        assert self.credentials is not None
        try:
            answer = self._client.get(
                realm,
                params=params,
                auth=httpx.BasicAuth(self.credentials.username, self.credentials.password),
            )
        except httpx.TransportError as e:
            raise StoreUnreachable(f"{self.store}: token service: {_reason(e)}") from e
        if answer.status_code in (401, 403):
            raise self.refused(answer)
        if answer.status_code != 200:
            raise StoreUnreachable(f"{self.store}: token service: HTTP {answer.status_code}")
        try:
            doc = answer.json()
            return str(doc.get("token") or doc["access_token"])
        except (ValueError, KeyError, AttributeError) as e:
            raise StoreUnreachable(f"{self.store}: token service: no token in its answer") from e


def _reason(e: httpx.TransportError) -> str:
    text = str(e) or type(e).__name__
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(e, httpx.TimeoutException):
        return "timed out"
    return text.splitlines()[0]
