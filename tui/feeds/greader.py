"""A client of the Google Reader API (FreshRSS, Inoreader, The Old Reader, BazQux, Miniflux).

The account's server is a source of feeds beside plain HTTP feeds: this module only speaks
the protocol; tui.feeds.sync decides what to ask and stores the answers. Every request has
the refresh's deadline and a size cap; a 401 gets a new login and write token once; 429 and
5xx are retried after the server's Retry-After (or a short backoff) within the deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    import httpx

READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
LABEL_PREFIX = "user/-/label/"
ITEM_PREFIX = "tag:google.com,2005:reader/item/"
PAGE = 1000  # items per stream/contents page
IDS_PAGE = 10000  # ids per stream/items/ids page
EDIT_BATCH = 250  # items per edit-tag request
MAX_BYTES = 64 * 1024 * 1024  # one answer of the API (a page of 1,000 full items)
RETRIES = 4


class SyncError(Exception):
    """The server could not be reached or refused; the message says which and why."""


class AuthError(SyncError):
    """The server refused the login (a wrong user or password)."""


@dataclass(slots=True)
class Subscription:
    stream_id: str  # "feed/12"
    title: str
    url: str
    html_url: str
    labels: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Page:
    items: list[dict[str, Any]]
    continuation: str


def item_number(item_id: str) -> int:
    """An item's id as a signed 64-bit integer, from its long form (hex) or its decimal form."""
    if item_id.startswith(ITEM_PREFIX):
        value = int(item_id[len(ITEM_PREFIX):], 16)
    else:
        value = int(item_id)
    return value - (1 << 64) if value >= 1 << 63 else value


def item_long_id(number: int) -> str:
    return f"{ITEM_PREFIX}{number & ((1 << 64) - 1):016x}"


class Client:
    """One account's session. Use `async with Client(...)`; `auth` may come in from a
    previous sync (it survives restarts on most servers) and is renewed on 401. `password`
    may be a function (it may run a command): called, in a thread, only to log in."""

    def __init__(self, base_url: str, user: str, password: str | Callable[[], str], *, deadline: float = 30.0,
                 auth: str = "", client: httpx.AsyncClient | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.user = user
        self.password = password
        self.deadline = deadline
        self.auth = auth
        self.token = ""
        self.requests = 0  # how many HTTP requests this session made (for the benchmark and tests)
        self.logins = 0  # how many of them were ClientLogin
        self._client = client
        self._own = client is None

    async def __aenter__(self) -> "Client":
        if self._client is None:
            from tui.feeds.fetch import make_client  # httpx: imported only when a sync runs

            self._client = make_client(4)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._own and self._client is not None:
            await self._client.aclose()

    # ------------------------------------------------------------------ session
    async def login(self) -> str:
        if callable(self.password):
            self.password = await asyncio.to_thread(self.password)
        self.logins += 1
        body = await self._send("POST", "accounts/ClientLogin",
                                data={"Email": self.user, "Passwd": self.password}, signed=False)
        for line in body.decode("utf-8", "replace").splitlines():
            if line.startswith("Auth="):
                self.auth = line[5:].strip()
                return self.auth
        raise SyncError("the server's login answer has no Auth token")

    async def _token(self) -> str:
        if not self.token:
            self.token = (await self._get("reader/api/0/token")).decode("ascii", "replace").strip()
        return self.token

    # --------------------------------------------------------------------- reads
    async def subscriptions(self) -> list[Subscription]:
        data = self._json(await self._get("reader/api/0/subscription/list", {"output": "json"}))
        found = []
        for sub in data.get("subscriptions", []):
            if not isinstance(sub, dict) or not isinstance(sub.get("id"), str):
                continue
            labels = [str(c.get("label") or str(c.get("id", "")).removeprefix(LABEL_PREFIX))
                      for c in sub.get("categories") or [] if isinstance(c, dict)]
            found.append(Subscription(sub["id"], str(sub.get("title") or ""), str(sub.get("url") or ""),
                                      str(sub.get("htmlUrl") or ""), [label for label in labels if label]))
        return found

    async def items(self, stream: str = READING_LIST, *, since: int | None = None,
                    n: int = PAGE) -> AsyncIterator[Page]:
        """Pages of items of `stream` (newest first), crawled at or after `since` (epoch s)."""
        continuation = ""
        while True:
            params: dict[str, Any] = {"output": "json", "n": n}
            if since:
                params["ot"] = since
            if continuation:
                params["c"] = continuation
            data = self._json(await self._get(f"reader/api/0/stream/contents/{stream}", params))
            items = [i for i in data.get("items", []) if isinstance(i, dict) and isinstance(i.get("id"), str)]
            continuation = str(data.get("continuation") or "")
            yield Page(items, continuation)
            if not continuation or not items:
                return

    async def item_ids(self, stream: str, *, exclude: str = "", include: str = "") -> set[int]:
        """Every item id of `stream` (with `exclude`/`include` a state such as READ)."""
        ids: set[int] = set()
        continuation = ""
        while True:
            params: dict[str, Any] = {"output": "json", "s": stream, "n": IDS_PAGE}
            if exclude:
                params["xt"] = exclude
            if include:
                params["it"] = include
            if continuation:
                params["c"] = continuation
            data = self._json(await self._get("reader/api/0/stream/items/ids", params))
            refs = data.get("itemRefs") or []
            before = len(ids)
            ids.update(item_number(str(ref["id"])) for ref in refs if isinstance(ref, dict) and "id" in ref)
            continuation = str(data.get("continuation") or "")
            if not continuation or len(ids) == before:
                return ids

    # -------------------------------------------------------------------- writes
    async def edit_tag(self, items: Sequence[int], *, add: str = "", remove: str = "") -> None:
        """Add or remove a state on many items, EDIT_BATCH per request."""
        for start in range(0, len(items), EDIT_BATCH):
            data: list[tuple[str, str]] = [("i", item_long_id(i)) for i in items[start:start + EDIT_BATCH]]
            if add:
                data.append(("a", add))
            if remove:
                data.append(("r", remove))
            await self._post("reader/api/0/edit-tag", data)

    async def quickadd(self, url: str) -> str:
        """Subscribe the account to `url`; the new stream id."""
        data = self._json(await self._post("reader/api/0/subscription/quickadd", [("quickadd", url)]))
        stream = data.get("streamId")
        if not data.get("numResults") or not isinstance(stream, str):
            raise SyncError(f"the server could not subscribe to {url}")
        return stream

    async def edit_subscription(self, stream_id: str, action: str, *, title: str = "",
                                add_label: str = "", remove_label: str = "") -> None:
        data = [("ac", action), ("s", stream_id)]
        if title:
            data.append(("t", title))
        if add_label:
            data.append(("a", LABEL_PREFIX + add_label))
        if remove_label:
            data.append(("r", LABEL_PREFIX + remove_label))
        await self._post("reader/api/0/subscription/edit", data)

    # ------------------------------------------------------------------ transport
    async def _get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        return await self._send("GET", path, params=params)

    async def _post(self, path: str, data: list[tuple[str, str]]) -> bytes:
        return await self._send("POST", path, data=data, token=True)

    async def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                    data: Any = None, signed: bool = True, token: bool = False) -> bytes:
        """One API call within the deadline: login first when needed, a new login and
        token on 401, waits on 429/5xx as the server asks (Retry-After) or 1, 2, 4 s."""
        import httpx

        from tui.feeds.fetch import _Failure, _read_body, describe_error, parse_retry_after

        assert self._client is not None, "use the client in `async with`"
        url = f"{self.base}/{path}"
        renewed = False
        attempt = 0
        ends = time.monotonic() + self.deadline
        try:
            async with asyncio.timeout(self.deadline):
                while True:
                    headers = {}
                    if signed:
                        if not self.auth:
                            await self.login()
                        headers["Authorization"] = f"GoogleLogin auth={self.auth}"
                    content = None
                    if data is not None:  # repeated keys (many i=): encoded here, httpx wants a dict
                        fields = list(data.items()) if isinstance(data, dict) else list(data)
                        if token:
                            fields.append(("T", await self._token()))
                        content = urlencode(fields).encode("ascii")
                        headers["Content-Type"] = "application/x-www-form-urlencoded"
                    self.requests += 1
                    request = self._client.build_request(method, url, params=params, content=content,
                                                         headers=headers)
                    response = await self._client.send(request, stream=True)
                    try:
                        status = response.status_code
                        if status == 401 and signed and not renewed:
                            renewed = True
                            self.auth = self.token = ""
                            continue
                        if status == 401:
                            raise AuthError(f"{self.base} refused the login of {self.user!r} (HTTP 401):"
                                            " check the user and the password")
                        if (status == 429 or status >= 500) and attempt < RETRIES:
                            attempt += 1
                            wait = 2.0 ** (attempt - 1)
                            at = parse_retry_after(response.headers.get("Retry-After"), int(time.time()))
                            if at is not None:
                                wait = max(0.0, at - time.time())
                            if time.monotonic() + wait > ends:
                                raise SyncError(f"{self.base} is busy (HTTP {status}) and asks to wait"
                                                f" {wait:.0f} s, longer than the deadline; the next sync tries again")
                            await asyncio.sleep(wait)
                            continue
                        if status >= 400:
                            raise SyncError(f"{self.base}: {method} {path} answered HTTP {status}")
                        return await _read_body(response, MAX_BYTES)
                    finally:
                        await response.aclose()
        except TimeoutError:
            raise SyncError(f"{self.base} did not answer {path} within {self.deadline:g} s") from None
        except _Failure as failure:
            raise SyncError(f"{self.base}: {failure.message}") from None
        except httpx.HTTPError as exc:
            raise SyncError(f"{self.base}: {describe_error(exc)}") from None

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise SyncError(f"the server's answer is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise SyncError("the server's answer is not a JSON object")
        return data
