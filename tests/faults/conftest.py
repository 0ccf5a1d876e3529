"""The fault suite's harness: the real processes, a resident texting over HTTP, the last pass.

Each scenario runs what production runs, as subprocesses of the test: gunicorn as the Procfile
starts it, `mibarrio worker`, or `mibarrio run` (honcho with both). They talk to a redis-server
of the test's own (so stopping it, or another test run flushing a shared one, touches nothing
else), to the test's database (SQLite, or PostgreSQL with TEST_DATABASE_URL) and to the Twilio
stand-in (tests/twilio_local.py) on 127.0.0.1. Every process is in a process group of its own,
stopped at the end of the test and sent SIGTERM if pytest itself dies.

The counting is in tests/faults/figures.py, shared by every scenario.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from storage.db import make_engine, make_sessionmaker, transaction
from storage.models import Broadcast, Resident, Zone
from storage.outbox import queue_message
from tests.commands.test_run import BIN
from tests.factories import announce
from tests.faults.figures import Answer, Figures, rows_in
from tests.helpers import serves, worker_env
from tests.twilio_local import TwilioLocal
from worker.queues import EmbeddedRedis, die_with_parent

TOKEN = "test-auth-token"  # TWILIO_AUTH_TOKEN in worker_env: the web app checks signatures with it
BOT_NUMBER = "+59122000000"
# New residents sign up in these zonas (never the broadcasts' Sopocachi, so they are never
# recipients of a broadcast prepared meanwhile).
SIGNUP_ZONES = ("Miraflores", "San Pedro", "Calacoto", "Achumani", "Irpavi", "Obrajes")


# -- where the figures go -------------------------------------------------------------------


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FAULTS_RESULTS_DIR when set (`make faults`), else a folder of this run's own."""
    configured = os.environ.get("FAULTS_RESULTS_DIR")
    if configured:
        return Path(configured)
    return tmp_path_factory.getbasetemp() / "faults-results"


def database_of(url: str) -> str:
    return make_url(url).get_backend_name()


def publish(figures: Figures, results_dir: Path) -> None:
    """Write the figures, then hold them to the targets (written first, so a miss is reported)."""
    path = figures.write(results_dir)
    assert not figures.misses(), f"{figures.title}: {figures.misses()} (figures in {path})"


# -- the test's own services -----------------------------------------------------------------


@pytest.fixture
def db(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own, on a unix socket under tmp_path."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def _own_group_dying_with_us() -> None:
    """In a child before exec: a process group of its own (so a signal reaches its children
    too), and SIGTERM when pytest dies, so nothing outlives the run."""
    os.setsid()
    die_with_parent()


class Stack:
    """The processes of one scenario: start them, signal them, read their logs, stop them."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.dir = tmp_path
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = (self.dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(  # noqa: S603 - our own commands
            args,
            env={**self.env, **env},
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_own_group_dying_with_us,  # noqa: PLW1509 - started from the main thread
        )
        log.close()
        self.procs[name] = proc
        return proc

    def web(self, port: int, name: str = "web") -> subprocess.Popen[bytes]:
        """gunicorn as the Procfile runs it (2 processes of 8 threads), on 127.0.0.1, once it
        serves."""
        args = [str(BIN / "gunicorn"), "--workers", "2", "--worker-class", "gthread"]
        args += ["--threads", "8", "--bind", f"127.0.0.1:{port}", "bot.app:create_app()"]
        proc = self.start(name, args)
        self.wait_serving(port, name)
        return proc

    def worker(self, name: str = "worker", **env: str) -> subprocess.Popen[bytes]:
        """`mibarrio worker`: the RQ worker, the outbox relay, the sweeper, reconciliation."""
        return self.start(name, [str(BIN / "mibarrio"), "worker"], **env)

    def run(self, port: int, name: str = "run") -> subprocess.Popen[bytes]:
        """`mibarrio run` (what `make run` starts): honcho with gunicorn and a worker."""
        proc = self.start(name, [str(BIN / "mibarrio"), "run"], PORT=str(port))
        self.wait_serving(port, name)
        return proc

    def burst(self, name: str = "burst", timeout: float = 90, **env: str) -> None:
        """`mibarrio worker --burst`: every due job, the sweeper, reconciliation; then it exits."""
        proc = self.start(name, [str(BIN / "mibarrio"), "worker", "--burst"], **env)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(name)
            raise AssertionError(
                f"{name} did not finish in {timeout:.0f}s:\n{self.tail(name)}"
            ) from None
        assert code == 0, f"{name} exited with {code}:\n{self.tail(name)}"

    def wait_serving(self, port: int, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not serves(port):
            proc = self.procs[name]
            assert proc.poll() is None, f"{name} exited:\n{self.tail(name)}"
            assert time.monotonic() < deadline, f"{name} never served:\n{self.tail(name)}"
            time.sleep(0.2)

    def signal(self, name: str, sig: int) -> None:
        os.killpg(self.procs[name].pid, sig)

    def stop(self, name: str, timeout: float = 30) -> int:
        """SIGTERM to the whole group (a warm shutdown). A process still there after `timeout`
        gets SIGABRT (PYTHONFAULTHANDLER writes every thread's stack to its log), then SIGKILL."""
        proc = self.procs[name]
        if proc.poll() is None:
            self.signal(name, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGABRT)
                time.sleep(1.0)
                self.kill(name)
                raise AssertionError(f"{name} ignored SIGTERM:\n{self.tail(name, 12000)}") from None
        return proc.returncode

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def children(self, name: str) -> list[int]:
        """The pids of a process's children (gunicorn's workers under its arbiter)."""
        pid = self.procs[name].pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def holder(self, name: str, client_port: int, timeout: float = 5.0) -> int:
        """The child of `name` (a gunicorn worker) holding the server end of the connection
        from 127.0.0.1:client_port: its socket's inode in /proc/net/tcp, found among the
        child's open files."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            inode = _server_inode(client_port)
            for pid in self.children(name) if inode else []:
                try:
                    fds = [
                        os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
                    ]
                except OSError:
                    continue
                if f"socket:[{inode}]" in fds:
                    return pid
            time.sleep(0.05)
        raise AssertionError(f"no process of {name} holds the connection from :{client_port}")

    def tail(self, name: str, chars: int = 4000) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                self.kill(name)


def _server_inode(client_port: int) -> str | None:
    """The inode of the accepted socket whose peer is 127.0.0.1:client_port (0: not accepted)."""
    peer = f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2] == peer and fields[9] != "0":
            return fields[9]
    return None


# stack_for(tw, **env): the scenario's processes, sending to that stand-in.
StackFor = Callable[..., Stack]


@pytest.fixture
def stack_for(db_url: str, redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[StackFor]:
    """stack_for(tw, **env): the scenario's processes, sending to that Twilio stand-in.

    Quiet hours off, a short liveness TTL (a dead worker's claims are found in seconds), and
    RECONCILE_AFTER=0 so that a worker settles unknown sends as soon as it runs a pass.
    """
    made: list[Stack] = []

    def make(tw: TwilioLocal, **env: str) -> Stack:
        settings = {
            "QUIET_HOURS": "off",
            "WORKER_ALIVE_TTL": "3",
            "RECONCILE_AFTER": "0",
            "SEND_THREADS": "8",
            "SEND_RATE": "0",
            **env,
        }
        env = worker_env(db_url, redis_server.url, tw, tmp_path, **settings)
        stack = Stack(tmp_path, {**env, "PYTHONFAULTHANDLER": "1"})
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.close()


# -- residents texting the web app ------------------------------------------------------------


class Texter:
    """Signed texts to the running web app, as Twilio posts them; every answer is kept."""

    def __init__(self, port: int, token: str = TOKEN) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/twilio/inbound"
        self.validator = RequestValidator(token)
        self.answers: list[Answer] = []
        self._lock = threading.Lock()

    def form(self, phone: str, body: str, sid: str) -> tuple[str, dict[str, str]]:
        """The signed form Twilio would post: (urlencoded body, headers)."""
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": phone,
            "To": BOT_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(self.url, params),
        }
        return urllib.parse.urlencode(params), headers

    def send(self, phone: str, body: str, sid: str | None = None) -> Answer:
        sid = sid or new_sid()
        form, headers = self.form(phone, body, sid)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", "/twilio/inbound", form, headers)
            response = conn.getresponse()
            answer = Answer(sid, response.status, response.read(), time.monotonic())
        except (OSError, http.client.HTTPException):
            answer = Answer(sid, 0, b"", time.monotonic())  # no answer: Twilio would retry
        finally:
            conn.close()
        return self.keep(answer)

    def keep(self, answer: Answer) -> Answer:
        with self._lock:
            self.answers.append(answer)
        return answer

    def stall(self, phone: str, body: str, sid: str | None = None) -> Stalled:
        """A text whose request is half sent: the web worker thread that took it waits for the
        rest (so killing that worker now cuts a request in flight)."""
        return Stalled(self, phone, body, sid or new_sid())

    def until_answered(
        self, phone: str, body: str, sid: str | None = None, tries: int = 5, pause: float = 0.5
    ) -> Answer:
        """Send, and send the same MessageSid again after a failure, as Twilio's retry would."""
        sid = sid or new_sid()
        for _ in range(tries):
            answer = self.send(phone, body, sid)
            if answer.status == 200:
                return answer
            time.sleep(pause)
        return answer

    def many(self, texts: Iterable[tuple[str, str, str]], threads: int = 16) -> list[Answer]:
        """(phone, body, sid) texts sent from `threads` threads at once, in the given order."""
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(lambda t: self.send(*t), texts))


class Stalled:
    """A request sent up to the middle of its body; finish() sends the rest and reads."""

    def __init__(self, texter: Texter, phone: str, body: str, sid: str) -> None:
        self.texter, self.phone, self.body, self.sid = texter, phone, body, sid
        form, headers = texter.form(phone, body, sid)
        data = form.encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST /twilio/inbound HTTP/1.1\r\nHost: 127.0.0.1:{texter.port}\r\n{head}"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode() + data
        self.rest = request[len(request) - len(data) // 2 :]
        self.sock = socket.create_connection(("127.0.0.1", texter.port), timeout=30)
        self.sock.sendall(request[: len(request) - len(self.rest)])
        self.port = int(self.sock.getsockname()[1])

    def finish(self) -> Answer:
        """Send the rest and read the answer; then, if none came, post it again (same sid)."""
        raw = b""
        try:
            self.sock.sendall(self.rest)
            while chunk := self.sock.recv(65536):
                raw += chunk
        except OSError:
            pass
        finally:
            self.sock.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        parts = head.split(b" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        answer = self.texter.keep(Answer(self.sid, status, body, time.monotonic()))
        if status != 200:
            return self.texter.until_answered(self.phone, self.body, self.sid)
        return answer


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


SIGNUP = ("hola", "1", "{zone}", "1")  # greeting, Spanish, the zona, consent


def signups(count: int, first: int) -> dict[str, str]:
    """`count` new phones (from +591 7xx numbers no factory uses) and the zona each picks."""
    return {f"+591750{first + i:05d}": SIGNUP_ZONES[i % len(SIGNUP_ZONES)] for i in range(count)}


def misapplied_signups(sessions: sessionmaker[Session], phones: dict[str, str]) -> int:
    """Phones whose sign-up did not end as its texts say (active, Spanish, their zona): a text
    lost or applied twice moves a conversation somewhere else."""
    with sessions() as session:
        found = {
            phone: (status, language, zone)
            for phone, status, language, zone in session.execute(
                select(Resident.phone, Resident.status, Resident.language, Zone.name)
                .join(Zone, Zone.id == Resident.zone_id, isouter=True)
                .where(Resident.phone.in_(list(phones)))
            )
        }
    return sum(1 for phone, zone in phones.items() if found.get(phone) != ("active", "es", zone))


class SignupTraffic:
    """New residents signing up over HTTP in the background, each text retried like Twilio
    retries a webhook that failed (same MessageSid), until `stop()`."""

    def __init__(self, texter: Texter, phones: dict[str, str], threads: int = 4) -> None:
        self.texter = texter
        self.phones = phones
        self.threads = threads
        self.done = 0
        self._pool = ThreadPoolExecutor(max_workers=threads)
        self._futures: list[object] = []

    def start(self, pace: float = 0.05) -> SignupTraffic:
        items = list(self.phones.items())
        for lane in range(self.threads):
            mine = items[lane :: self.threads]
            self._futures.append(self._pool.submit(self._lane, mine, pace))
        return self

    def _lane(self, phones: list[tuple[str, str]], pace: float) -> None:
        for phone, zone in phones:
            for text in SIGNUP:
                self.texter.until_answered(phone, text.format(zone=zone))
                time.sleep(pace)
            self.done += 1

    def wait(self, timeout: float = 120) -> None:
        for future in self._futures:
            future.result(timeout=timeout)  # type: ignore[attr-defined]
        self._pool.shutdown()


# -- waiting and the last pass ------------------------------------------------------------------


def reconcile_last(stack: Stack, sessions: sessionmaker[Session], figures: Figures) -> None:
    """The last pass: `mibarrio worker --burst` with RECONCILE_AFTER=0 sweeps, asks the
    stand-in about every unknown send, sends again what it never got, and exits. The unknown
    rows before it are counted (figures.unknown_before); those after it are counted later."""
    figures.unknown_before = rows_in(sessions, ["unknown"])
    stack.burst("reconcile")


# -- what has to go out ---------------------------------------------------------------------------


def broadcast_to(sessions: sessionmaker[Session], marker: str) -> int:
    """A broadcast to zona Sopocachi (as the CLI makes one) whose text carries `marker`."""
    return announce(
        sessions,
        es=f"{marker} Mañana no hay agua de 8:00 a 14:00.",
        ay=f"{marker} Qharürux janiw uma utjkaniti.",
    )


def queue_messages(
    sessions: sessionmaker[Session], resident_ids: list[int], prefix: str = "M"
) -> dict[str, str]:
    """One single message (as a report update is) to each resident, each with a marker of its
    own; {marker: phone}."""
    queued: dict[str, str] = {}
    with transaction(sessions) as session:
        for n, resident_id in enumerate(resident_ids):
            resident = session.get(Resident, resident_id)
            assert resident is not None and resident.phone
            marker = f"(F-{prefix}{n})"
            queue_message(session, resident, f"{marker} Su reporte R-ABCD está en curso.")
            queued[marker] = resident.phone
    return queued


def phone_list(sessions: sessionmaker[Session], ids: list[int]) -> list[str]:
    """The phones of these residents, in the order of `ids`."""
    with sessions() as session:
        found = dict(
            session.execute(select(Resident.id, Resident.phone).where(Resident.id.in_(ids)))
            .tuples()
            .all()
        )
    return [str(found[i]) for i in ids]


def broadcast_status(sessions: sessionmaker[Session], broadcast_id: int) -> str:
    with sessions() as session:
        row = session.get(Broadcast, broadcast_id)
        assert row is not None
        return row.status
