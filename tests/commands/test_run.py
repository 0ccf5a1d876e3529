"""`mibarrio run` (what `make run` starts): it serves, and Ctrl-C stops everything cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port

BIN = Path(sys.executable).parent

# Starts `mibarrio run`: honcho, gunicorn, a worker and an embedded redis-server.
pytestmark = pytest.mark.slow


def redis_servers_under(directory: Path) -> list[str]:
    """redis-server processes whose command line names this directory (the embedded one)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "redis-server" in cmdline and str(directory) in cmdline:
            found.append(proc.name)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_run_serves_and_ctrl_c_stops_everything_without_errors(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL"))
    }
    env.update(MIBARRIO_INSTANCE=str(instance), PORT=str(port), NO_PROXY="127.0.0.1")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'run.db'}"
    # Its own process group, as a terminal gives a foreground job: Ctrl-C reaches all of it.
    proc = subprocess.Popen(
        [str(BIN / "mibarrio"), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert health == {"status": "ok", "database": "ok", "redis": "ok"}
        time.sleep(2)  # the worker is up and listening too
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = output.decode(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert "worker stopped" in text and "web stopped" in text
    # Threads, as the Procfile: a client sending its headers slowly holds a thread, not the web.
    assert "Using worker: gthread" in text
    assert redis_servers_under(instance) == []
