"""A small HTTP/1.1 load client: prepared request bytes out, status and body in.

The benchmarks run client and servers on the same two cores, so every millisecond the client
spends per request is taken from the server it measures, and gunicorn's sync worker, after
each response, waits for the client to close the connection before it takes the next one.
A general-purpose client (aiohttp) used about a third of a core at 300 req/s here. This one
is an asyncio protocol: it frames requests, reads the status line, headers and a
Content-Length body as the bytes arrive, and closes the connection in that same callback
when the server says so. Loopback only: no TLS, no redirects, no chunked bodies.
"""

from __future__ import annotations

import asyncio


class HTTPError(Exception):
    """The server closed the connection or answered with something that is not HTTP/1.x."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            response = self._response()
        except HTTPError as exc:
            self._close()
            waiter.set_exception(exc)
            return
        if response is not None:
            status, body, close = response
            if close:
                self._close()  # now, before anything else: the server is waiting for it
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(HTTPError(f"connection closed: {exc or 'by the server'}"))

    def _close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _response(self) -> tuple[int, bytes, bool] | None:
        """The complete response at the head of the buffer (removed from it), or None."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        status_line, *headers = bytes(self.buffer[:end]).split(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise HTTPError(f"not an HTTP response: {status_line[:80]!r}")
        length, close = 0, parts[0] == b"HTTP/1.0"
        for line in headers:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise HTTPError("chunked responses are not supported")
        total = end + 4 + length
        if len(self.buffer) < total:
            return None
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        return int(parts[1]), body, close


class Connection:
    """One connection, reopened when the server closed it (sync workers close every one)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._protocol: _Protocol | None = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send head (request line and headers, without Content-Length) and body."""
        reused = self._protocol is not None and not self._protocol.closed
        try:
            return await self._exchange(head, body)
        except (HTTPError, OSError) as exc:
            self.close()
            if not reused:
                raise HTTPError(str(exc) or exc.__class__.__name__) from exc
        # A kept-alive connection the server had already closed: once more on a new one.
        # Nothing was answered on it, so the request was never handled.
        try:
            return await self._exchange(head, body)
        except (HTTPError, OSError) as exc:
            self.close()
            raise HTTPError(str(exc) or exc.__class__.__name__) from exc

    async def _exchange(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        if self._protocol is None or self._protocol.closed:
            _, self._protocol = await loop.create_connection(_Protocol, self.host, self.port)
        protocol = self._protocol
        assert protocol.transport is not None
        protocol.waiter = loop.create_future()
        protocol.transport.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
        return await protocol.waiter

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol._close()
        self._protocol = None


def request_head(method: str, path: str, host: str, headers: dict[str, str]) -> bytes:
    """Request line and headers, ready for Connection.request (it adds Content-Length)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")
