"""Clients that send their headers a byte at a time do not keep Twilio's texts waiting.

gunicorn is started from the Procfile's own web line (bound to 127.0.0.1 instead of 0.0.0.0),
several connections trickle header bytes at it, and a signed webhook request must still be
answered promptly. With the sync workers the Procfile used to run, each slow connection held a
whole worker until gunicorn's 30-second timeout killed it: four of them kept a text waiting
63 seconds, and this test fails on that line.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import create_app
from bot.config import Config
from tests.conftest import AUTH_TOKEN, inbound_params, sign
from tests.helpers import REPO, free_port, served

BIN = Path(sys.executable).parent
# More than the two sync workers the Procfile ran, and more than the four; fewer than
# one web process's threads, since nothing says how the kernel spreads them between processes.
SLOW_CLIENTS = 6
ANSWERED_WITHIN = 5.0  # seconds; a normal answer takes milliseconds


def procfile_web_line() -> str:
    for line in (REPO / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    raise AssertionError("the Procfile has no web line")


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[int]:
    """The Procfile's web process on 127.0.0.1, run by a shell as Procfile runners do; its port."""
    port = free_port()
    command = procfile_web_line().replace("0.0.0.0", "127.0.0.1")
    assert "127.0.0.1:${PORT" in command, command  # listening on loopback only
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "WEB_"))
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PORT=str(port),
        DATABASE_URL=db_url,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        SECRET_KEY="test",
        MIBARRIO_INSTANCE=str(tmp_path / "instance"),
        NO_PROXY="127.0.0.1",
    )
    with served(["sh", "-c", f"exec {command}"], env, port, tmp_path / "gunicorn.log"):
        time.sleep(1)  # every web process has booted, not only the first one
        yield port


class Trickle:
    """Connections that send a request line, then header bytes one every half second."""

    def __init__(self, port: int, count: int) -> None:
        self.stop = threading.Event()
        self.socks = [
            socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)
        ]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Trickle:
        for sock in self.socks:
            sock.sendall(b"POST /twilio/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        self.thread.start()
        time.sleep(1)  # the server has taken them in and is reading their headers
        return self

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            for sock in self.socks:
                try:
                    sock.send(b"a")
                except OSError:
                    pass

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


def text_in(port: int, body: str, phone: str) -> tuple[int, str, float]:
    """A signed webhook request as Twilio sends it: status, body, seconds to the answer."""
    params = inbound_params(body, phone)
    url = f"http://127.0.0.1:{port}/twilio/inbound"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3 * ANSWERED_WITHIN)
    started = time.monotonic()
    try:
        conn.request(
            "POST",
            "/twilio/inbound",
            body=urllib.parse.urlencode(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(url, params),
            },
        )
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), time.monotonic() - started
    except TimeoutError:
        return 0, "no answer", time.monotonic() - started
    finally:
        conn.close()


@pytest.mark.slow
def test_texts_are_answered_promptly_while_clients_trickle_their_headers(web: int) -> None:
    with Trickle(web, SLOW_CLIENTS):
        for n in range(4):  # several, so that no lucky landing passes for service
            status, body, seconds = text_in(web, "Hola", f"+5917100000{n}")
            assert status == 200 and "Bienvenido a Mi Barrio" in body, (status, body)
            assert seconds < ANSWERED_WITHIN, f"text {n + 1} answered after {seconds:.1f} s"


def test_a_web_process_keeps_a_database_connection_for_each_of_its_threads(config: Config) -> None:
    """What the Procfile starts when WEB_CONCURRENCY and WEB_THREADS are unset is what the app
    sizes its pool for, and every thread finds a connection of its own waiting."""
    line = procfile_web_line()
    workers = re.search(r"--workers \$\{WEB_CONCURRENCY:-(\d+)\}", line)
    threads = re.search(r"--worker-class gthread --threads \$\{WEB_THREADS:-(\d+)\}", line)
    assert workers and threads, line
    defaults = Config()
    assert (int(workers[1]), int(threads[1])) == (defaults.web_concurrency, defaults.web_threads)

    app = create_app(config)  # the test config: the defaults
    try:
        pool = app.extensions["mibarrio"].engine.pool
        held = [pool.connect() for _ in range(defaults.web_threads)]
        assert pool.size() == defaults.web_threads
        assert pool.overflow() <= 0  # none of them beyond what the pool keeps
        for connection in held:
            connection.close()
        assert pool.checkedin() == defaults.web_threads  # kept for the next requests
    finally:
        app.extensions["mibarrio"].engine.dispose()
