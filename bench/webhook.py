"""Webhook benchmark: the app under gunicorn (2 sync workers, as the Procfile runs it).

    .venv/bin/python bench/webhook.py [--db sqlite|postgresql|both] [--rate 300] [--duration 20]

For each database: a fresh one (SQLite in a temporary directory; PostgreSQL at --pg-url with
its schema wiped), migrated, with the zonas and --residents synthetic residents. Then:

1. Paced (open loop), the targets: request i is due at t0 + i/rate and is sent then, whatever
   the server is doing (on an idle connection, or a new one if all are busy); its latency is
   counted from that due time, so time spent queued counts. Half the texts come from new
   numbers signing up, half from seeded residents moving through the menus. Target: p99 <=
   50 ms and no errors.
2. Closed loop, for information: --connections connections send as fast as they are answered,
   to the app and to bench/bare_app.py (Flask, no signature, no database) under the same
   gunicorn, alternately twice so that whatever else the machine does hits both; real/bare is
   the share of a bare endpoint's throughput the app keeps.

Every request has its own body, MessageSid and Twilio signature, so tools that repeat one
request (wrk, hey, ab) do not fit; the client is bench/loadclient.py, a small asyncio HTTP/1.1
client that costs the server little CPU on a shared machine. Traffic goes to 127.0.0.1 only.
Prints a Markdown table, writes <results-dir>/webhook-<db>.json; exit 0 when the paced targets
are met, 1 when one is missed, 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from loadclient import Connection, HTTPError, request_head

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TOKEN = "bench-token"
INBOUND = "/twilio/inbound"
BOT_NUMBER = "+59122000000"
P99_TARGET_MS = 50.0
MENU_TEXTS = ("menu", "ayuda", "hola", "1", "2")
SIGNING_UP = 64  # new numbers signing up at once: a number's next step comes 64 texts later

Request = tuple[bytes, bytes]  # (request line and headers, body)


def signed_requests(port: int, count: int, residents: int, seed: int) -> list[Request]:
    """`count` texts: even ones from new numbers walking through the sign-up (greeting,
    language, zona, consent), odd ones from seeded residents. storage is imported here, not at
    the top, so that --app-dir's code (first on sys.path by then) reads the zonas."""
    from twilio.request_validator import RequestValidator

    from storage.seed import SYNTHETIC_PHONE_BASE, read_zones

    rng = random.Random(seed)
    zonas = [z.name for z in read_zones()]
    url = f"http://127.0.0.1:{port}{INBOUND}"
    validator = RequestValidator(TOKEN)
    out = []
    for i in range(count):
        if i % 2 == 0:
            j = i // 2  # the j-th sign-up text: number j % 64 of block j // 256, step (j // 64) % 4
            phone = f"+591{70_000_000 + j // (4 * SIGNING_UP) * SIGNING_UP + j % SIGNING_UP}"
            body = ("hola", "1", rng.choice(zonas), "1")[j // SIGNING_UP % 4]
        else:
            phone = f"+{SYNTHETIC_PHONE_BASE + rng.randrange(residents)}"
            body = rng.choice(MENU_TEXTS)
        sid = f"SM{seed:08x}{i:024x}"
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": phone,
            "To": BOT_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        head = request_head(
            "POST",
            INBOUND,
            f"127.0.0.1:{port}",
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": validator.compute_signature(url, params),
            },
        )
        out.append((head, urllib.parse.urlencode(params).encode()))
    return out


def fresh_database(db: str, workdir: Path, pg_url: str, residents: int) -> str:
    """A migrated database with the zonas and the synthetic residents, nothing else."""
    from sqlalchemy import text

    from storage.db import is_sqlite, make_engine, make_sessionmaker, transaction
    from storage.migrate import upgrade
    from storage.seed import seed_demo_residents, seed_zones

    url = f"sqlite:///{workdir / 'bench.db'}" if db == "sqlite" else pg_url
    if not is_sqlite(url):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        seed_zones(session)
        seed_demo_residents(session, residents)
    engine.dispose()
    if not is_sqlite(url):  # now, not during the measurement: statistics after a bulk load
        engine = make_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    return url


def residents_in(url: str) -> int:
    from sqlalchemy import func, select

    from storage.db import make_engine
    from storage.models import Resident

    engine = make_engine(url)
    with engine.connect() as conn:
        count = int(conn.scalar(select(func.count()).select_from(Resident.__table__)) or 0)
    engine.dispose()
    return count


def die_with_parent() -> None:
    """In gunicorn before exec: SIGTERM when the benchmark dies, so no server is left over."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn(app: str, port: int, env: dict[str, str], workdir: Path, path: str) -> Any:
    """gunicorn with 2 sync workers in its own process group (stopped as one)."""
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        path,
        "--log-level",
        "warning",
        app,
    ]
    with (workdir / f"gunicorn-{port}.log").open("wb") as log:
        return subprocess.Popen(
            cmd,
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def app_env(workdir: Path, port: int, url: str, app_dir: Path) -> dict[str, str]:
    """The app's configuration: this database, the token the requests are signed with."""
    drop = ("TWILIO_", "DATABASE_URL", "PUBLIC_URL", "REDIS_URL", "SECRET_KEY", "MIBARRIO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        DATABASE_URL=url,
        TWILIO_AUTH_TOKEN=TOKEN,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        SECRET_KEY="bench",
        MIBARRIO_INSTANCE=str(workdir / "instance"),
        PYTHONPATH=str(app_dir),
    )
    return env


async def ready(proc: Any, port: int, first: Request) -> None:
    """Wait for /healthz, then one real request: a broken app fails here, not as 'slow'."""
    deadline = time.monotonic() + 60
    health = request_head("GET", "/healthz", f"127.0.0.1:{port}", {})
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn on port {port} did not start (see its log)")
        conn = Connection("127.0.0.1", port)
        with contextlib.suppress(HTTPError, OSError, TimeoutError):
            if (await asyncio.wait_for(conn.request(health, b""), 5))[0] == 200:
                break
        conn.close()
        await asyncio.sleep(0.2)
    status, body = await asyncio.wait_for(conn.request(*first), 30)
    conn.close()
    if status != 200:
        raise RuntimeError(f"port {port}: one request got HTTP {status}: {body[:200]!r}")


async def drained(port: int) -> None:
    """After an overload, gunicorn still answers the requests whose client gave up: one more
    request, queued behind them, comes back when they are done (before the closed loop)."""
    conn = Connection("127.0.0.1", port)
    await asyncio.wait_for(conn.request(request_head("GET", "/healthz", "127.0.0.1", {}), b""), 300)
    conn.close()


async def send(conn: Connection, req: Request, errors: Counter[str]) -> bool:
    """One request; False (and the reason counted in `errors`) unless it got a 200."""
    try:
        status, _ = await asyncio.wait_for(conn.request(*req), 10)
        if status == 200:
            return True
        errors[f"HTTP {status}"] += 1
    except (HTTPError, OSError, TimeoutError) as exc:
        conn.close()
        errors[exc.__class__.__name__] += 1
    return False


async def paced(port: int, reqs: Sequence[Request], rate: float, warmup: int) -> dict[str, Any]:
    """Open loop: request i due at t0 + i/rate; latency from the due time. The first `warmup`
    requests warm the workers and are not counted."""
    idle: list[Connection] = []
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    t0 = time.perf_counter() + 0.05

    async def one(i: int, due: float) -> None:
        conn = idle.pop() if idle else Connection("127.0.0.1", port)
        counted = Counter[str]()
        await send(conn, reqs[i], counted)
        idle.append(conn)
        if i >= warmup:
            latencies.append(time.perf_counter() - due)
            errors.update(counted)

    tasks = []
    for i in range(len(reqs)):
        due = t0 + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    span = time.perf_counter() - (t0 + warmup / rate)
    for conn in idle:
        conn.close()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[-(-len(ms) * 99 // 100) - 1]  # nearest rank
    return {
        "rate": rate,
        "requests": len(ms),
        "achieved_rate": round(len(ms) / span, 1),
        "p50_ms": round(ms[len(ms) // 2], 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(ms[-1], 2),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "most_in_flight": len(idle),
    }


async def closed(
    port: int, reqs: Iterator[Request], connections: int, seconds: float, errors: Counter[str]
) -> float:
    """Closed loop: `connections` connections, each sending as soon as it is answered;
    requests answered per second (failures counted in `errors`, reported, not fatal)."""
    end = time.perf_counter() + seconds
    done = 0

    async def loop() -> None:
        nonlocal done
        conn = Connection("127.0.0.1", port)
        for req in reqs:
            if time.perf_counter() >= end:
                break
            answered = await send(conn, req, errors)
            done += answered  # after the await: `done += await ...` reads `done` before it
        conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(connections)))
    return done / (time.perf_counter() - start)


def run_db(db: str, args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"mibarrio-bench-{db}-"))
    servers = []
    try:
        print(f"{db}: fresh database, {args.residents} residents ...", flush=True)
        url = fresh_database(db, workdir, args.pg_url, args.residents)
        app_port, bare_port = free_port(), free_port()
        n_paced = int(args.rate * (args.duration + 1))
        n_closed = int(args.closed_seconds * 2 * 3000)
        reqs = signed_requests(app_port, 1 + n_paced + n_closed, args.residents, args.seed)
        env = app_env(workdir, app_port, url, args.app_dir)
        path = f"{args.app_dir},{BENCH}"
        servers.append(gunicorn(args.app, app_port, env, workdir, path))
        servers.append(gunicorn("bare_app:app", bare_port, env, workdir, path))
        asyncio.run(ready(servers[0], app_port, reqs[0]))
        asyncio.run(ready(servers[1], bare_port, reqs[0]))
        print(f"{db}: paced, {args.rate:g}/s for {args.duration:g} s ...", flush=True)
        result = asyncio.run(paced(app_port, reqs[1 : 1 + n_paced], args.rate, int(args.rate)))
        asyncio.run(drained(app_port))
        app_reqs, bare_reqs = iter(reqs[1 + n_paced :]), itertools.cycle(reqs)
        turns: dict[str, list[float]] = {"app": [], "bare": []}
        errors: dict[str, Counter[str]] = {"app": Counter(), "bare": Counter()}
        print(f"{db}: closed loop, {args.connections} connections ...", flush=True)
        for _ in range(2):
            for name, port, it in (("app", app_port, app_reqs), ("bare", bare_port, bare_reqs)):
                turns[name].append(
                    asyncio.run(
                        closed(port, it, args.connections, args.closed_seconds, errors[name])
                    )
                )
        app_rps, bare_rps = (sum(turns[k]) / len(turns[k]) for k in ("app", "bare"))
        new_residents = residents_in(url) - args.residents  # the sign-ups reached the database
        return {
            "db": db,
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "app": args.app,
            "app_dir": str(args.app_dir),
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "residents": args.residents,
            "new_residents": new_residents,
            "paced": result,
            "closed": {
                "connections": args.connections,
                "seconds": args.closed_seconds,
                "app_rps": round(app_rps, 1),
                "bare_rps": round(bare_rps, 1),
                "ratio": round(app_rps / bare_rps, 4),
                "turns": {k: [round(v, 1) for v in t] for k, t in turns.items()},
                "errors": {k: dict(v) for k, v in errors.items()},
            },
            "pass": result["p99_ms"] <= P99_TARGET_MS and result["errors"] == 0,
        }
    finally:
        for proc in servers:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
                    break
        shutil.rmtree(workdir, ignore_errors=True)


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| db | paced /s | p50 ms | p99 ms | max ms | errors | app req/s | bare req/s | "
        "real/bare |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        p, c = r["paced"], r["closed"]
        rows.append(
            f"| {r['db']} | {p['achieved_rate']:.0f} | {p['p50_ms']:.1f} | "
            f"{p['p99_ms']:.1f} | {p['max_ms']:.1f} | {p['errors']} | {c['app_rps']:.0f} "
            f"| {c['bare_rps']:.0f} | {c['ratio']:.1%} |"
        )
    return "\n".join(rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    p.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/bench_h",
        help="a database this benchmark may WIPE (createdb bench_h)",
    )
    p.add_argument("--rate", type=float, default=300.0, help="paced texts per second")
    p.add_argument("--duration", type=float, default=20.0, help="paced seconds")
    p.add_argument("--residents", type=int, default=20_000)
    p.add_argument("--connections", type=int, default=32, help="closed loop")
    p.add_argument("--closed-seconds", type=float, default=5.0, help="each of 4 closed turns")
    p.add_argument("--results-dir", type=Path, default=BENCH / "results")
    p.add_argument("--seed", type=int, default=591)
    p.add_argument(
        "--app-dir",
        type=Path,
        default=ROOT,
        help="serve the app of another checkout (its migrations and seed too)",
    )
    p.add_argument("--app", default="bot.app:create_app()", help="gunicorn's app spec")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.app_dir = args.app_dir.resolve()
    sys.path.insert(0, str(args.app_dir))  # its storage package migrates and seeds
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    print(f"# webhook benchmark; load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    results = []
    try:
        for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            results.append(run_db(db, args))
            args.results_dir.mkdir(parents=True, exist_ok=True)
            out = args.results_dir / f"webhook-{db}.json"
            out.write_text(json.dumps(results[-1], indent=2) + "\n")
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback, for a setup failure
        print(f"benchmark failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    print("\n" + table(results) + "\n")
    for r in results:
        p = r["paced"]
        verdict = "PASS" if r["pass"] else "FAIL"
        print(
            f"{verdict}  {r['db']}: p99 {p['p99_ms']:.1f} ms (<= {P99_TARGET_MS:g}), "
            f"{p['errors']} errors (0) at {p['rate']:g}/s"
        )
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
