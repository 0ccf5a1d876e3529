"""Helpers several test modules share: Twilio on the local server, worker contexts, terminals,
Hypothesis settings, conversation scripts. What makes residents, polls and broadcasts is in
tests/factories.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from bot.config import Config
from tests.conftest import Chat
from tests.twilio_local import TwilioLocal
from worker import context as worker_context
from worker import pool
from worker.context import WorkerContext

# The checkout, and the samples the tests read (tests/data), wherever a test module sits.
REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"

ACCOUNT = "AC" + "0" * 32
SMS_FROM = "+59122000000"
WHATSAPP_FROM = "whatsapp:+59122000001"


def twilio_config(config: Config, tw: TwilioLocal, **overrides: object) -> Config:
    """config with Twilio credentials, sending to the local server."""
    settings: dict[str, object] = {
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": "test-auth-token",
        "local_auth_token": False,
        "twilio_api_base_url": tw.base_url,
        "twilio_sms_from": SMS_FROM,
        "twilio_whatsapp_from": WHATSAPP_FROM,
        "twilio_timeout": 5.0,
    }
    return replace(config, **{**settings, **overrides})  # type: ignore[arg-type]


# Broadcast tests run with no quiet hours (unless a test sets some), 8 send threads and a short
# liveness TTL, so a dead worker is noticed in seconds.
BROADCASTING: dict[str, object] = {"quiet_hours": "off", "send_threads": 8, "worker_alive_ttl": 2.0}


def broadcast_config(config: Config, tw: TwilioLocal, **overrides: object) -> Config:
    """twilio_config with the broadcast settings above."""
    return twilio_config(config, tw, **{**BROADCASTING, **overrides})


@contextmanager
def installed(config: Config) -> Iterator[WorkerContext]:
    """A worker context for this process, as RQ jobs find it; its send threads stopped after."""
    ctx = worker_context.build(config)
    worker_context.use(ctx)
    try:
        yield ctx
    finally:
        pool.shutdown()
        worker_context.use(None)
        ctx.engine.dispose()


def worker_env(
    database_url: str, redis_url: str, tw: TwilioLocal, tmp_path: Path, **extra: str
) -> dict[str, str]:
    """The environment of a `mibarrio worker` subprocess sending to the local Twilio server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "SEND_"))
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MIBARRIO_INSTANCE=str(tmp_path / "instance"),
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN="test-auth-token",
        TWILIO_API_BASE_URL=tw.base_url,
        TWILIO_SMS_FROM=SMS_FROM,
        TWILIO_WHATSAPP_FROM=WHATSAPP_FROM,
        TWILIO_TIMEOUT="5",
        **extra,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def terminal(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    database_url: str,
    *,
    unset: Iterable[str],
    **env: str,
) -> CliRunner:
    """A terminal for `mibarrio` commands: an instance folder of its own, DATABASE_URL, env."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("MIBARRIO_INSTANCE", str(instance))
    # Read at import: point it here too so generated local secrets stay out of the checkout.
    monkeypatch.setattr("bot.config.INSTANCE_DIR", instance)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner()


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis for the fuzz tests: derandomised, so every run (and CI) replays the same
    examples; nothing kept between runs; no deadline (PostgreSQL is slower); function-scoped
    fixtures allowed, each example making its own phone numbers or requests."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# A conversation as data: (text in, what the reply contains). A string must be in the reply; a
# pattern is searched for in it (anchor it with ^ for how the reply starts); several in a tuple
# must all hold; () checks nothing.
Expected = str | re.Pattern[str]
Script = Sequence[tuple[str, Expected | tuple[Expected, ...]]]


def starts(prefix: str) -> re.Pattern[str]:
    """Expects the reply to start with `prefix`, word for word."""
    return re.compile("^" + re.escape(prefix))


def play(chat: Chat, script: Script) -> list[str]:
    """Say each text of `script` in turn and check its reply; the replies, for further checks."""
    replies = []
    for text, expected in script:
        reply = chat.say(text)
        for want in expected if isinstance(expected, tuple) else (expected,):
            found = want.search(reply) if isinstance(want, re.Pattern) else want in reply
            assert found, f"after {text!r}: expected {want!r} in {reply!r}"
        replies.append(reply)
    return replies


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serves(port: int) -> bool:
    """The web app on 127.0.0.1:port answers /healthz with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return int(answer.status) == 200
    except OSError:
        return False


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.2)


@contextmanager
def served(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """A web server process (gunicorn) in its own process group, until it answers /healthz
    on 127.0.0.1:port; stopped with SIGTERM (SIGKILL after 15 s) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not serves(port):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            yield
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
