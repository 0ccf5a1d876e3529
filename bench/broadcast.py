"""Broadcast throughput: 100,000 residents through 2 worker processes to a local Twilio stand-in.

    .venv/bin/python bench/broadcast.py [--residents 100000] [--workers 2] [--delay 0.1]
        [--baseline 100] [--rate-residents 1000] [--database-url URL]

Loopback only; stops by itself. Steps, all in one run:

1. a fresh migrated database (SQLite under a temporary directory unless --database-url) with
   the zonas and N synthetic residents (storage.seed.seed_demo_residents);
2. an embedded Redis and tests/twilio_local.py answering every create after --delay seconds;
3. prepare: the broadcast's delivery rows (one INSERT ... SELECT) and its chunk jobs, timed;
4. send: `mibarrio worker --burst` x --workers with SEND_RATE=0, timed from their start until
   every delivery row is final; their peak RSS from wait4();
5. the naive baseline: a loop calling client.messages.create, as in Twilio's tutorials;
6. SEND_RATE=50 with the same workers: the busiest one-second window and the mean rate, from
   the server's arrival times.

Prints a Markdown table with PASS/FAIL per target and writes bench/results/broadcast-<db>.json.
Exit status 0 when every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config  # noqa: E402
from bot.targets import resolve  # noqa: E402
from storage.broadcasts import QuietHours, create_broadcast  # noqa: E402
from storage.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Delivery, OutboxEntry, Resident  # noqa: E402
from storage.seed import SYNTHETIC_PHONE_BASE, seed_demo_residents, seed_zones  # noqa: E402
from tests.twilio_local import TwilioLocal  # noqa: E402
from worker import context  # noqa: E402
from worker.fanout import prepare  # noqa: E402
from worker.queues import EmbeddedRedis, connect, queue  # noqa: E402

ACCOUNT = "AC" + "0" * 32
TOKEN = "bench-token"
SMS_FROM = "+59122000000"
WHATSAPP_FROM = "+59122000001"
RESULTS = ROOT / "bench" / "results"
TEXT_ES = "Mañana martes no habrá agua en su zona de 8:00 a 14:00. Guarde agua hoy."
TEXT_AY = "Qharürux martes janiw uma utjkaniti 8:00 14:00 ukjakama. Jichhürux uma imt'asim."


@dataclass
class Stack:
    url: str
    redis_url: str
    tw: TwilioLocal
    workdir: Path


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def stack(args: argparse.Namespace) -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="mibarrio-bench-"))
    redis_server = EmbeddedRedis(workdir / "redis")
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    try:
        redis_url = redis_server.start()
        with TwilioLocal(delay=args.delay) as tw:
            yield Stack(url, redis_url, tw, workdir)
    finally:
        redis_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def fresh_database(url: str, residents: int) -> None:
    upgrade(url)
    engine_ = make_engine(url)
    sessions = make_sessionmaker(engine_)
    with transaction(sessions) as session:
        for table in ("deliveries", "broadcast_zones", "broadcasts", "outbox"):
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(delete(Resident).where(Resident.synthetic.is_(True)))
        seed_zones(session)
    started = time.perf_counter()
    with transaction(sessions) as session:
        seed_demo_residents(session, residents)
    log(f"seeded {residents} residents in {time.perf_counter() - started:.1f}s")
    engine_.dispose()


def config_for(s: Stack, send_rate: float, threads: int) -> Config:
    return Config(
        database_url=s.url,
        redis_url=s.redis_url,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_api_base_url=s.tw.base_url,
        twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_timeout=10.0,
        secret_key="bench",
        send_rate=send_rate,
        send_threads=threads,
        quiet_hours="off",
    )


def worker_env(s: Stack, cfg: Config) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "SEND_"))
    }
    env.update(
        DATABASE_URL=s.url,
        REDIS_URL=s.redis_url,
        MIBARRIO_INSTANCE=str(s.workdir / "instance"),
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_API_BASE_URL=s.tw.base_url,
        TWILIO_SMS_FROM=SMS_FROM,
        TWILIO_WHATSAPP_FROM=WHATSAPP_FROM,
        TWILIO_TIMEOUT="10",
        SEND_RATE=str(cfg.send_rate),
        SEND_THREADS=str(cfg.send_threads),
        QUIET_HOURS="off",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def prepare_broadcast(s: Stack, cfg: Config) -> tuple[int, float, int]:
    """Create a citywide broadcast and prepare it here, timed; returns (id, seconds, rows)."""
    ctx = context.build(cfg)
    conn = connect(s.redis_url)
    try:
        with transaction(ctx.sessions) as session:
            created = create_broadcast(
                session,
                kind="announcement",
                target=resolve(session, "all"),
                text_es=TEXT_ES,
                text_ay=TEXT_AY,
                urgent=True,
                quiet_hours=QuietHours.parse("off"),
            )
            broadcast_id = created.id
            # Prepared right here (timed) rather than by the relay.
            session.execute(delete(OutboxEntry).where(OutboxEntry.job == "prepare_broadcast"))
        started = time.perf_counter()
        outcome = prepare(ctx, broadcast_id, queue(conn))
        seconds = time.perf_counter() - started
        assert outcome == "prepared", outcome
        with ctx.sessions() as session:
            rows = session.scalar(select(func.count()).where(Delivery.broadcast_id == broadcast_id))
        return broadcast_id, seconds, int(rows or 0)
    finally:
        conn.close()
        ctx.engine.dispose()


def run_workers(s: Stack, cfg: Config, workers: int) -> tuple[float, list[int], float]:
    """Start burst workers, wait for them; (seconds, peak RSS in KiB per worker, CPU s)."""
    mibarrio = Path(sys.executable).parent / "mibarrio"
    env = worker_env(s, cfg)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(  # noqa: S603
            [str(mibarrio), "worker", "--burst"],
            env=env,
            cwd=s.workdir,
            stdout=subprocess.DEVNULL,
            stderr=open(s.workdir / f"worker-{i}.log", "w"),  # noqa: SIM115
        )
        for i in range(workers)
    ]
    peaks = []
    cpu = 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log((s.workdir / f"worker-{procs.index(proc)}.log").read_text()[-3000:])
            raise SystemExit(f"a worker exited with {proc.returncode}")
        peaks.append(int(usage.ru_maxrss))
        cpu += usage.ru_utime + usage.ru_stime
    return time.perf_counter() - started, peaks, cpu


def final_counts(s: Stack, broadcast_id: int) -> dict[str, int]:
    engine_ = make_engine(s.url)
    try:
        with make_sessionmaker(engine_)() as session:
            return dict(
                session.execute(
                    select(Delivery.status, func.count())
                    .where(Delivery.broadcast_id == broadcast_id)
                    .group_by(Delivery.status)
                )
                .tuples()
                .all()
            )
    finally:
        engine_.dispose()


def naive_baseline(s: Stack, count: int) -> float:
    """Messages per second of a plain loop over client.messages.create."""
    client = Client(ACCOUNT, TOKEN, http_client=TwilioHttpClient(timeout=10))
    client.api.base_url = s.tw.base_url
    started = time.perf_counter()
    for i in range(count):
        client.messages.create(to=f"+{SYNTHETIC_PHONE_BASE + i}", from_=SMS_FROM, body=TEXT_ES)
    return count / (time.perf_counter() - started)


def windows(times: list[float]) -> tuple[int, float]:
    """(most arrivals in any one-second window, mean rate first to last)."""
    times = sorted(times)
    busiest, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        busiest = max(busiest, j - i)
    mean = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return busiest, mean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=64, help="SEND_THREADS per worker")
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--rate-residents", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}",
        "residents": args.residents,
        "workers": args.workers,
        "threads_per_worker": args.threads,
        "server_delay_s": args.delay,
    }
    with stack(args) as s:
        results["database"] = s.url.split(":", 1)[0]
        fresh_database(s.url, args.residents)

        cfg = config_for(s, 0, args.threads)
        broadcast_id, prepare_s, rows = prepare_broadcast(s, cfg)
        log(f"prepared {rows} deliveries in {prepare_s:.2f}s; sending...")
        own = resource.getrusage(resource.RUSAGE_SELF)
        seconds, peaks, worker_cpu = run_workers(s, cfg, args.workers)
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = (own_after.ru_utime + own_after.ru_stime) - (own.ru_utime + own.ru_stime)
        counts = final_counts(s, broadcast_id)
        requests = s.tw.requests
        arrivals = sorted(r["t"] for r in requests)
        sent = counts.get("queued", 0)
        per_phone = len({r["To"] for r in requests})
        results.update(
            prepare_seconds=round(prepare_s, 2),
            deliveries=rows,
            send_seconds=round(seconds, 2),
            send_rate=round(sent / seconds, 1),
            server_side_rate=round(len(arrivals) / (arrivals[-1] - arrivals[0]), 1),
            max_in_flight=s.tw.max_in_flight,
            status_counts=counts,
            duplicates=len(requests) - per_phone,
            worker_peak_rss_mb=[round(kib / 1024, 1) for kib in peaks],
            worker_cpu_ms_per_message=round(1000 * worker_cpu / max(sent, 1), 3),
            server_cpu_ms_per_message=round(1000 * server_cpu / max(sent, 1), 3),
        )
        log(f"sent {sent} in {seconds:.1f}s ({sent / seconds:.0f}/s); baseline...")
        s.tw.reset()
        baseline = naive_baseline(s, args.baseline)
        results["baseline_rate"] = round(baseline, 2)
        results["speedup"] = round(results["send_rate"] / baseline, 1)

        # SEND_RATE=50 on a smaller audience (the first N residents).
        s.tw.reset()
        rate_cfg = config_for(s, 50, args.threads)
        fresh_rate_db = f"sqlite:///{s.workdir / 'rate.db'}" if not args.database_url else s.url
        s_rate = Stack(fresh_rate_db, s.redis_url, s.tw, s.workdir)
        fresh_database(s_rate.url, args.rate_residents)
        rate_cfg = config_for(s_rate, 50, args.threads)
        rate_id, _, rate_rows = prepare_broadcast(s_rate, rate_cfg)
        log(f"SEND_RATE=50: {rate_rows} deliveries...")
        rate_seconds, _, _ = run_workers(s_rate, rate_cfg, args.workers)
        busiest, mean = windows([r["t"] for r in s.tw.requests])
        results.update(
            rate_limited_messages=len(s.tw.requests),
            rate_limited_seconds=round(rate_seconds, 1),
            rate_busiest_window=busiest,
            rate_mean=round(mean, 2),
            rate_status_counts=final_counts(s_rate, rate_id),
        )

    targets = [
        (
            "prepare 100k deliveries",
            f"{results['prepare_seconds']} s",
            "< 10 s",
            results["prepare_seconds"] < 10,
        ),
        (
            "send rate, SEND_RATE=0",
            f"{results['send_rate']} msg/s",
            ">= 500 msg/s",
            results["send_rate"] >= 500,
        ),
        ("naive baseline", f"{results['baseline_rate']} msg/s", "-", True),
        ("speed-up over baseline", f"{results['speedup']}x", ">= 40x", results["speedup"] >= 40),
        (
            "worker peak RSS",
            f"{max(results['worker_peak_rss_mb'])} MB",
            "< 200 MB",
            max(results["worker_peak_rss_mb"]) < 200,
        ),
        ("SEND_RATE=50 busiest 1 s window", str(busiest), "<= 51", busiest <= 51),
        (
            "SEND_RATE=50 mean rate",
            f"{results['rate_mean']} msg/s",
            ">= 48/s",
            results["rate_mean"] >= 48,
        ),
        ("duplicates", str(results["duplicates"]), "0", results["duplicates"] == 0),
    ]
    print(
        f"\n{results['machine']}; {results['database']}; {args.residents} residents, "
        f"{args.workers} workers x {args.threads} threads, server delay {args.delay}s\n"
    )
    print("| measure | result | target | |")
    print("|---|---|---|---|")
    for name, value, target, ok in targets:
        print(f"| {name} | {value} | {target} | {'PASS' if ok else 'FAIL'} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"broadcast-{results['database'].split('+')[0]}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0 if all(ok for *_, ok in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
