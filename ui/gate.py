"""What every HTTP request passes before Gradio sees it (issue 14 #5, #9, #11).

- Host allow-list: a forged Host header (DNS rebinding) gets 400, so a web page elsewhere cannot
  reach the single-user app's API through the browser of the person at the machine.
- Login back-off, per client address (here) and per user name (``Login``): after a few failures each
  further try waits, doubling; a locked client gets 429 at once and costs no hashing.
- The upload route is for roles that may change the knowledge base (知识库's file input, up to the
  upload limit) and for roles that may ask (文稿检查's draft file, up to DRAFT_UPLOAD bytes: a draft
  is at most 20,000 characters, so a larger file is refused before a byte is read).
Password hashing runs in one worker thread, off the event loop, so logins never freeze other requests.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

from auth.users import Users

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")
DRAFT_UPLOAD = 5 * 1024 * 1024  # largest upload for a role that may ask but not change the knowledge base


class Backoff:
    """Failures counted per key: after ``free`` failures a key waits base × 2^(n − free) seconds
    (at most ``cap``) before its next try; a success forgets the key."""

    def __init__(self, free: int, base: float, cap: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.cap, self.clock = free, base, cap, clock
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (failures, time of the last)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds before this key may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
        if count < self.free:
            return 0.0
        delay = min(self.cap, self.base * 2 ** (count - self.free))
        return max(0.0, last + delay - self.clock())

    def failed(self, key: str) -> None:
        with self._lock:
            count, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, self.clock())
            if len(self._failures) > 100_000:  # bounded memory under a flood of names
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class Login:
    """Gradio's auth callable is ``Login.check``: a coroutine function, so Gradio awaits it (an object
    with an async ``__call__`` would not be recognised, and its coroutine would count as a success); the hashing runs in one worker thread and
    a name in back-off is refused without hashing. Known and unknown names cost the same
    (``Users.authenticate`` hashes against a decoy)."""

    def __init__(self, users: Users, backoff: Backoff) -> None:
        self.users, self.backoff = users, backoff
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="login-hash")

    async def check(self, name: str, password: str) -> bool:
        key = "user:" + name
        if self.backoff.wait(key) > 0:
            return False
        ok = await asyncio.get_running_loop().run_in_executor(self._pool, self.users.authenticate, name, password)
        (self.backoff.succeeded if ok else self.backoff.failed)(key)
        return ok


def allowed_hosts(extra: tuple[str, ...], bind_host: str) -> set[str]:
    """Host names (without port) the app answers to."""
    names = set(LOCAL_HOSTS) | {h.lower() for h in extra}
    if bind_host not in ("0.0.0.0", "::", ""):
        names.add(bind_host.lower())
    return names


def host_name(value: str) -> str:
    """The Host header without its port: 'a:7860' -> 'a', '[::1]:7860' -> '[::1]'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Gate:
    """Pure ASGI middleware (so streaming and websockets pass untouched)."""

    def __init__(self, app, users: Users, hosts: set[str] | None, backoff: Backoff, max_upload: int,
                 upload_rate: int) -> None:
        self.app, self.users, self.hosts, self.backoff, self.max_upload = app, users, hosts, backoff, max_upload
        self.upload_rate = upload_rate
        self._upload_free_at = 0.0  # when the shared upload budget next allows a byte (monotonic)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.hosts is not None and host_name(headers.get("host", "")) not in self.hosts:
            return await _refuse(scope, send, 400, "Invalid host header")
        path = scope.get("path", "")
        if scope["type"] == "http" and scope.get("method") == "POST":
            if path.rstrip("/").endswith("/login"):
                return await self._login(scope, receive, send)
            if path.rstrip("/").endswith("/upload"):
                limit = self._upload_limit(scope, headers)
                if not limit:
                    return await _refuse(scope, send, 403, "Uploading is for roles that may screen drafts or "
                                                           "change the knowledge base")
                if _length(headers) > limit + 64 * 1024:  # refused before a byte is read
                    return await _refuse(scope, send, 413, f"A file may have at most {limit} bytes")
                return await self.app(scope, self._paced(receive), send)
        return await self.app(scope, receive, send)

    async def _login(self, scope, receive, send) -> None:
        key = "client:" + (scope.get("client") or ("?",))[0]
        wait = self.backoff.wait(key)
        if wait > 0:
            return await _refuse(scope, send, 429, f"Too many failed logins; try again in {wait:.0f} s",
                                 [(b"retry-after", str(int(wait) + 1).encode())])

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 200:
                    self.backoff.succeeded(key)
                elif 400 <= status < 500:
                    self.backoff.failed(key)
            await send(message)

        await self.app(scope, receive, watch)

    def _paced(self, receive):
        """Upload bodies share ``upload_rate`` bytes per second: Gradio parses them on the event loop,
        so a stream of the largest uploads would otherwise take the CPU the answers need."""
        async def paced():
            message = await receive()
            size = len(message.get("body", b""))
            if size and self.upload_rate > 0:
                now = time.monotonic()
                start = max(now, self._upload_free_at)
                self._upload_free_at = start + size / self.upload_rate
                if start > now:
                    await asyncio.sleep(start - now)
            return message
        return paced

    def _upload_limit(self, scope, headers: dict[str, str]) -> int:
        """The largest upload this request's user may send: the upload limit for roles that may change
        the knowledge base, DRAFT_UPLOAD for roles that may only ask, 0 for no login."""
        if self.users.single_user:
            return self.max_upload
        app = scope.get("app")
        tokens = getattr(app, "tokens", {}) or {}
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no login
            return 0
        for morsel in cookie.values():
            if morsel.key.startswith("access-token") and morsel.value in tokens:
                name = tokens[morsel.value]
                if self.users.allowed(name, "kb_edit"):
                    return self.max_upload
                return min(self.max_upload, DRAFT_UPLOAD) if self.users.allowed(name, "ask") else 0
        return 0


def _length(headers: dict[str, str]) -> int:
    """The declared body length (0 if none or unreadable; Gradio still counts a chunked body)."""
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:
        return 0


async def _refuse(scope, send, status: int, text: str, headers: list | None = None) -> None:
    body = text.encode()
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
