"""The console and the API on a La Paz-sized city, and a city-wide broadcast prepared by a worker.

    .venv/bin/python bench/city.py [--source demo_city] [--copy demo_city_bench] [--fresh]
        [--requests 20] [--only SUBSTRING] [--no-pages] [--no-prepare] [--seed-into DB]

Needs the city built by `mibarrio seed --demo-city` on PostgreSQL (--source, on the server of
--server-url). Loopback only. Steps:

1. a copy of the city to write on (CREATE DATABASE copy TEMPLATE source; --fresh makes it
   again), migrated to head (so indexes of later migrations are on it), with a known password
   for the demo staff users and an API token for each role measured;
2. pages and API calls through the Flask test client, each --requests times after two
   unmeasured ones, as the municipality, a subalcaldía and a leader (with filters, a zona, a
   macrodistrito); the wall time of each request, p50/p95/max; target p95 <= 300 ms;
3. a city-wide urgent broadcast created (as the console does) and prepared by a real
   `mibarrio worker` process: seconds from the job's claim to its commit (delivery rows and
   chunk ranges), target <= 30 s; the worker's peak RSS (VmHWM) when the preparation has
   committed, target <= 200 MB;
4. with --seed-into DB: `mibarrio seed --demo-city` into DB (created, or wiped), timed.

Prints a Markdown table with the load average beside each figure and writes
bench/results/city.json. Exit status 0 when every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import create_app  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.passwords import hash_password  # noqa: E402
from storage import staff  # noqa: E402
from storage.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from storage.demo_city import STAFF_DOMAIN  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-city-password-1"
BASE = "https://localhost"
PAGE_TARGET_MS = 300.0
PREPARE_TARGET_S = 30.0
RSS_TARGET_MB = 200.0
CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def url_for_db(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def admin_engine(server: str) -> Any:
    return make_engine(url_for_db(server, "postgres"), isolation_level="AUTOCOMMIT")


def make_copy(server: str, source: str, copy: str, fresh: bool) -> str:
    engine = admin_engine(server)
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": copy}
        ).scalar()
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{copy}" WITH (FORCE)'))
            exists = False
        if not exists:
            started = time.perf_counter()
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"'))
            log(f"copied {source} to {copy} in {time.perf_counter() - started:.0f}s")
    engine.dispose()
    url = url_for_db(server, copy)
    upgrade(url)
    return url


@dataclass
class Client:
    """A signed-in browser (Flask's test client over https) or an API token."""

    name: str
    http: Any
    token: str | None = None

    def get(self, path: str) -> Any:
        if self.token:
            return self.http.get(path, headers={"Authorization": f"Bearer {self.token}"})
        return self.http.get(path, base_url=BASE)

    def post(self, path: str, data: dict[str, Any], form: str | None = None) -> Any:
        if self.token:
            return self.http.post(
                path, json=data, headers={"Authorization": f"Bearer {self.token}"}
            )
        page = self.http.get(form or path, base_url=BASE).get_data(as_text=True)
        found = CSRF.search(page)
        fields = {"csrf_token": (found.group(1) or found.group(2)) if found else "", **data}
        return self.http.post(
            path, data=fields, base_url=BASE, headers={"Referer": BASE + (form or path)}
        )

    def post_json(self, path: str, data: dict[str, Any], form: str) -> Any:
        page = self.http.get(form, base_url=BASE).get_data(as_text=True)
        found = CSRF.search(page)
        token = (found.group(1) or found.group(2)) if found else ""
        return self.http.post(
            path,
            json=data,
            base_url=BASE,
            headers={"X-CSRFToken": token, "Referer": BASE + form},
        )


@dataclass
class Call:
    who: str
    label: str
    run: Callable[[int], Any]  # i -> response
    setup: Callable[[], Any] | None = None
    expect: tuple[int, ...] = (200,)


@dataclass
class Figure:
    who: str
    label: str
    n: int
    p50: float
    p95: float
    max: float
    status: list[int] = field(default_factory=list)
    load: str = ""
    first: float = 0.0  # the first, unmeasured call: what a page remembers is not yet there

    @property
    def ok(self) -> bool:
        return self.p95 <= PAGE_TARGET_MS


def measure(call: Call, requests: int, slow_after_ms: float) -> Figure:
    """Two unmeasured calls, then `requests` measured ones; a first call slower than
    slow_after_ms is the only one (its figure is clear, and repeating it would take long).
    The first call's time is kept apart: for the evidence pages it is the view that computes
    what later views within the same rollup refresh read again (bot/evidence/memo.py)."""
    times: list[float] = []
    statuses: list[int] = []
    first = 0.0
    for i in range(2 + requests):
        started = time.perf_counter()
        response = call.run(i)
        elapsed = (time.perf_counter() - started) * 1000
        statuses.append(response.status_code)
        if response.status_code not in call.expect:
            if response.status_code == 500 and elapsed > slow_after_ms:
                times = [elapsed]  # the statement timeout ended it: at least this long
                break
            body = response.get_data(as_text=True)[:300]
            raise RuntimeError(f"{call.who} {call.label}: {response.status_code} {body}")
        if i == 0:
            first = elapsed
        if i == 0 and elapsed > slow_after_ms:
            times = [elapsed]
            break
        if i >= 2:
            times.append(elapsed)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, math.ceil(0.95 * len(times)) - 1))]
    return Figure(
        call.who,
        call.label,
        len(times),
        statistics.median(times),
        p95,
        times[-1],
        sorted(set(statuses)),
        load(),
        first,
    )


def sign_in(app: Any, email: str) -> Client:
    http = app.test_client()
    client = Client(email, http)
    answer = client.post("/admin/login", {"email": email, "password": PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"login as {email}: {answer.status_code}")
    return client


def calls(url: str, app: Any, clients: dict[str, Client], api: dict[str, Client]) -> list[Call]:
    engine = make_engine(url)
    with engine.connect() as conn:

        def one(sql: str, **params: Any) -> Any:
            return conn.execute(text(sql), params).scalar()

        def many(sql: str, **params: Any) -> list[Any]:
            return list(conn.execute(text(sql), params).scalars())

        big_zone_id, big_zone = conn.execute(
            text(
                "SELECT z.id, z.name FROM zones z JOIN residents r ON r.zone_id = z.id"
                " GROUP BY z.id ORDER BY count(*) DESC, z.id LIMIT 1"
            )
        ).one()
        macro = one(
            "SELECT m.name FROM macrodistricts m JOIN zones z ON z.macrodistrict_id = m.id"
            " WHERE z.id = :z",
            z=big_zone_id,
        )
        city_bc = one("SELECT max(id) FROM broadcasts WHERE citywide AND status = 'done'")
        zone_bc = one(
            "SELECT max(b.id) FROM broadcasts b JOIN broadcast_zones z ON z.broadcast_id = b.id"
            " WHERE z.zone_id = :z AND b.status = 'done'",
            z=big_zone_id,
        )
        city_poll = one("SELECT max(id) FROM polls WHERE citywide")
        zone_poll = one(
            "SELECT max(p.id) FROM polls p JOIN poll_zones z ON z.poll_id = p.id"
            " WHERE z.zone_id = :z",
            z=big_zone_id,
        )
        report_code = one(
            "SELECT code FROM reports WHERE zone_id = :z ORDER BY id DESC LIMIT 1", z=big_zone_id
        )
        open_codes = many(
            "SELECT code FROM reports WHERE zone_id = :z AND status = 'received'"
            " ORDER BY id DESC LIMIT 200",
            z=big_zone_id,
        )
    engine.dispose()
    municipality, sub, leader = clients["municipality"], clients["subalcaldia"], clients["leader"]
    text_key = _text_key(municipality)
    status_codes = iter(open_codes)
    api_codes = iter(open_codes[100:])

    def page(client: Client, path: str) -> Callable[[int], Any]:
        return lambda _i: client.get(path)

    out: list[Call] = []
    for who, client in (("municipality", municipality), ("subalcaldia", sub), ("leader", leader)):
        out += [
            Call(who, "GET /admin/", page(client, "/admin/")),
            Call(who, "GET /admin/reportes", page(client, "/admin/reportes")),
            Call(
                who,
                "GET /admin/reportes?estado=received&categoria=agua",
                page(client, "/admin/reportes?estado=received&categoria=agua"),
            ),
            Call(
                who,
                f"GET /admin/reportes?zona=<{big_zone}>&dias=30",
                page(client, f"/admin/reportes?zona={big_zone_id}&dias=30"),
            ),
            Call(
                who,
                f"GET /admin/reportes.csv?zona=<{big_zone}>&estado=received",
                page(client, f"/admin/reportes.csv?zona={big_zone_id}&estado=received"),
            ),
            Call(who, "GET /admin/reportes/<code>", page(client, f"/admin/reportes/{report_code}")),
            Call(who, "GET /admin/difusiones", page(client, "/admin/difusiones")),
            Call(
                who,
                "GET /admin/difusiones/<zona's>",
                page(client, f"/admin/difusiones/{zone_bc}"),
                expect=(200,) if zone_bc else (404,),
            ),
            Call(who, "GET /admin/difusiones/nueva", page(client, "/admin/difusiones/nueva")),
            Call(
                who,
                f"POST /admin/difusiones/nueva preview zona:{big_zone}",
                lambda _i, c=client: c.post(
                    "/admin/difusiones/nueva",
                    {
                        "target": f"zona:{big_zone}",
                        "text_es": "Corte de agua mañana.",
                        "text_ay": "Qharurux uma jark'atäniwa.",
                        "kind": "announcement",
                    },
                ),
            ),
            Call(who, "GET /admin/encuestas", page(client, "/admin/encuestas")),
            Call(
                who,
                "GET /admin/encuestas/<zona's>",
                page(client, f"/admin/encuestas/{zone_poll}"),
                expect=(200,) if zone_poll else (404,),
            ),
            Call(who, "GET /admin/evidence", page(client, "/admin/evidence")),
            Call(
                who,
                f"GET /admin/evidence?zona={big_zone}",
                page(client, f"/admin/evidence?zona={big_zone}"),
            ),
        ]
    m = "municipality"
    out += [
        Call(
            m, "GET /admin/login", lambda _i: municipality.http.get("/admin/login", base_url=BASE)
        ),
        Call(
            m,
            "GET /admin/difusiones/<city-wide>",
            page(municipality, f"/admin/difusiones/{city_bc}"),
        ),
        Call(
            m,
            "POST /admin/difusiones/nueva preview all (1M)",
            lambda _i: municipality.post(
                "/admin/difusiones/nueva",
                {
                    "target": "all",
                    "text_es": "Corte de agua mañana.",
                    "text_ay": "Qharurux uma jark'atäniwa.",
                    "kind": "announcement",
                },
            ),
        ),
        Call(
            m,
            f"POST /admin/difusiones/nueva preview macro:{macro}",
            lambda _i: municipality.post(
                "/admin/difusiones/nueva",
                {
                    "target": f"macro:{macro}",
                    "text_es": "Corte de agua mañana.",
                    "text_ay": "Qharurux uma jark'atäniwa.",
                    "kind": "announcement",
                },
            ),
        ),
        Call(
            m,
            "POST /admin/difusiones/segmentos",
            lambda _i: municipality.post_json(
                "/admin/difusiones/segmentos",
                {"es": "Corte de agua mañana de 8:00 a 14:00.", "ay": "Qharurux uma."},
                "/admin/difusiones/nueva",
            ),
        ),
        Call(
            m,
            "GET /admin/encuestas/<city-wide>",
            page(municipality, f"/admin/encuestas/{city_poll}"),
        ),
        Call(m, "GET /admin/encuestas/nueva", page(municipality, "/admin/encuestas/nueva")),
        Call(
            m,
            f"GET /admin/evidence?macro={macro}",
            page(municipality, f"/admin/evidence?macro={macro}"),
        ),
        Call(m, "GET /admin/auditoria", page(municipality, "/admin/auditoria")),
        Call(
            m,
            "GET /admin/auditoria?accion=report.status&objeto=report",
            page(municipality, "/admin/auditoria?accion=report.status&objeto=report"),
        ),
        Call(m, "GET /admin/textos", page(municipality, "/admin/textos")),
        Call(m, "GET /admin/textos/<key>", page(municipality, f"/admin/textos/{text_key}")),
        Call(m, "GET /admin/noticias", page(municipality, "/admin/noticias")),
        Call(
            m,
            "POST /admin/reportes/<code> status",
            lambda _i: municipality.post(
                f"/admin/reportes/{(code := next(status_codes))}",
                {"status": "in_progress", "note": "Cuadrilla asignada."},
                form=f"/admin/reportes/{code}",
            ),
            expect=(302,),
        ),
    ]
    for who, client in api.items():
        out += [
            Call(who, "API GET /api/v1/stats", page(client, "/api/v1/stats")),
            Call(who, "API GET /api/v1/reports", page(client, "/api/v1/reports")),
            Call(
                who,
                "API GET /api/v1/reports?status=received&category=agua",
                page(client, "/api/v1/reports?status=received&category=agua"),
            ),
            Call(
                who,
                "API GET /api/v1/reports?after_id=150000",
                page(client, "/api/v1/reports?after_id=150000"),
            ),
            Call(who, "API GET /api/v1/evidence", page(client, "/api/v1/evidence")),
            Call(
                who,
                "API GET /api/v1/evidence?step=month&from=<a year>",
                page(client, "/api/v1/evidence?step=month&from=" + _year_ago()),
            ),
        ]
    a = api["municipality"]
    out += [
        Call(
            "municipality",
            "API GET /api/v1/broadcasts/<city-wide>",
            page(a, f"/api/v1/broadcasts/{city_bc}"),
        ),
        Call(
            "municipality",
            "API POST /api/v1/reports/<code>/status",
            lambda _i: a.post(
                f"/api/v1/reports/{next(api_codes)}/status",
                {"status": "in_progress", "note": "Cuadrilla asignada."},
            ),
        ),
        Call(
            "municipality",
            f"API POST /api/v1/broadcasts zona:{big_zone} + cancel",
            lambda _i: _create_and_cancel(a, big_zone),
        ),
    ]
    return out


def _create_and_cancel(client: Client, zone: str) -> Any:
    created = client.post(
        "/api/v1/broadcasts",
        {
            "target": f"zona:{zone}",
            "text_es": "Corte de agua mañana.",
            "text_ay": "Qharurux uma jark'atäniwa.",
            "kind": "announcement",
            "send_at": "2030-01-01T08:00",
        },
    )
    if created.status_code != 201:
        return created
    return client.post(f"/api/v1/broadcasts/{created.get_json()['id']}/cancel", {})


def _year_ago() -> str:
    from datetime import date, timedelta

    return (date.today() - timedelta(days=364)).isoformat()


def _text_key(client: Client) -> str:
    page = client.get("/admin/textos").get_data(as_text=True)
    found = re.search(r'href="/admin/textos/([^"?]+)"', page)
    return found.group(1) if found else "x"


def prepare_citywide(url: str, redis_url: str, workdir: Path) -> dict[str, Any]:
    """A city-wide urgent broadcast, created as the console does, prepared by `mibarrio worker`."""
    from bot import actions, targets

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    config = Config(database_url=url, secret_key="bench", quiet_hours="off")
    with transaction(sessions) as session:
        session.execute(text("UPDATE outbox SET relayed_at = now() WHERE relayed_at IS NULL"))
        user = staff.find_user(session, f"alcaldia@{STAFF_DOMAIN}")
        started = time.perf_counter()
        created = actions.send_broadcast(
            session,
            config,
            target=targets.resolve(session, "all"),
            text_es="Mañana no habrá agua de 8:00 a 14:00. Guarde agua hoy.",
            text_ay="Qharurux janiw uma utjkaniti 8:00 14:00 ukjakama.",
            kind="announcement",
            urgent=True,
            send_at=None,
            user=user,
            via="web",
        )
        broadcast_id, expected = created.id, created.recipients
        create_seconds = time.perf_counter() - started
    log(f"broadcast {broadcast_id} to {expected:,} residents created in {create_seconds:.2f}s")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "SEND_RATE": "1",
        "QUIET_HOURS": "off",
        "SECRET_KEY": "bench",
    }
    for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        env.pop(key, None)
    import redis as redis_lib

    redis_lib.Redis.from_url(redis_url).flushdb()
    stderr = (workdir / "worker.log").open("w")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "mibarrio"), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        cwd=ROOT,
    )
    hwm = 0
    committed_at = None
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            hwm = max(hwm, _vm_hwm_kb(proc.pid))
            with engine.connect() as conn:
                row = conn.execute(
                    text("SELECT status, recipients, prepared_at FROM broadcasts WHERE id = :b"),
                    {"b": broadcast_id},
                ).one()
                rows = conn.execute(
                    text("SELECT count(*) FROM deliveries WHERE broadcast_id = :b"),
                    {"b": broadcast_id},
                ).scalar()
            if row.status != "scheduled" and rows:
                committed_at = time.time()
                break
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited: {proc.returncode}")
            time.sleep(0.2)
        # The chunk jobs are enqueued right after the commit: let them be.
        time.sleep(3)
        hwm_enqueued = _vm_hwm_kb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        stderr.close()
    worker_log = (workdir / "worker.log").read_text()
    found = re.search(
        rf"broadcast {broadcast_id}: (\d+) delivery rows in ([\d.]+)s, (\d+) chunks", worker_log
    )
    assert committed_at is not None and row.prepared_at is not None, worker_log[-2000:]
    seconds = committed_at - row.prepared_at.timestamp()
    engine.dispose()
    return {
        "broadcast_id": broadcast_id,
        "recipients": rows,
        "create_seconds": round(create_seconds, 2),
        "prepare_seconds": round(seconds, 1),
        "fan_out_seconds_logged": float(found.group(2)) if found else None,
        "chunks": int(found.group(3)) if found else None,
        "worker_hwm_mb_at_commit": round(hwm / 1024, 1),
        "worker_hwm_mb_after_enqueue": round(hwm_enqueued / 1024, 1),
        "load": load(),
    }


def _vm_hwm_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) if found else 0


def time_seed(server: str, name: str) -> dict[str, Any]:
    engine = admin_engine(server)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = url_for_db(server, name)
    upgrade(url)
    before = load()
    started = time.perf_counter()
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mibarrio"), "seed", "--demo-city"],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "load_before": before,
        "load_after": load(),
        "output": proc.stdout,
        "steps": proc.stderr,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/")
    parser.add_argument("--source", default="demo_city")
    parser.add_argument("--copy", default="demo_city_bench")
    parser.add_argument("--fresh", action="store_true", help="make the copy again")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--slow-after-ms", type=float, default=3000.0)
    parser.add_argument("--statement-timeout", type=float, default=120.0, help="seconds")
    parser.add_argument("--only", default=None, help="only calls whose label contains this")
    parser.add_argument("--skip", default="", help="comma-separated: skip calls with these")
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument("--no-prepare", action="store_true")
    parser.add_argument("--seed-into", default=None, help="also time the seed into this database")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    )
    parser.add_argument("--results-dir", default=str(RESULTS))
    args = parser.parse_args()

    results: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "load": load()}
    ok = True
    if args.seed_into:
        results["seed"] = time_seed(args.server_url, args.seed_into)
        log(f"seed: {results['seed']['seconds']}s")
    url = make_copy(args.server_url, args.source, args.copy, args.fresh)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        session.execute(
            text(
                "UPDATE staff_users SET password_hash = :h, failed_logins = 0, locked_until = NULL"
            ),
            {"h": hash_password(PASSWORD)},
        )
        emails = {
            "municipality": f"alcaldia@{STAFF_DOMAIN}",
            # The subalcaldía of the leader's zona: the biggest zona is in all three scopes.
            "subalcaldia": session.execute(
                text(
                    "SELECT u.email FROM staff_users u JOIN zones z ON z.macrodistrict_id ="
                    " u.macrodistrict_id WHERE u.role = 'subalcaldia' AND z.id ="
                    " (SELECT zone_id FROM residents"
                    " GROUP BY zone_id ORDER BY count(*) DESC, zone_id LIMIT 1) LIMIT 1"
                )
            ).scalar(),
            "leader": session.execute(
                text(
                    "SELECT u.email FROM staff_users u JOIN residents r ON r.zone_id = u.zone_id"
                    " WHERE u.role = 'leader' GROUP BY u.email, u.zone_id"
                    " ORDER BY count(*) DESC, u.zone_id LIMIT 1"
                )
            ).scalar(),
        }
        tokens = {}
        for role, email in emails.items():
            user = staff.find_user(session, email)
            assert user is not None, email
            tokens[role] = staff.issue_token(session, user)
    engine.dispose()
    results["users"] = emails

    figures: list[Figure] = []
    if not args.no_pages:
        # A page that would take longer than this ends with a 500, its time still measured.
        limit = f"?options=-c%20statement_timeout%3D{int(args.statement_timeout * 1000)}"
        config = Config(
            database_url=url + limit,
            secret_key="bench",
            redis_url=args.redis_url,
            quiet_hours="off",
        )
        app = create_app(config)
        app.testing = True
        clients = {role: sign_in(app, email) for role, email in emails.items()}
        api = {role: Client(role, app.test_client(), token) for role, token in tokens.items()}
        for call in calls(url, app, clients, api):
            if args.only and args.only not in call.label:
                continue
            if any(part and part in call.label for part in args.skip.split(",")):
                continue
            figure = measure(call, args.requests, args.slow_after_ms)
            figures.append(figure)
            mark = "ok" if figure.ok else "SLOW"
            log(
                f"{figure.who:12} {figure.label:60} p50 {figure.p50:8.1f} p95 {figure.p95:8.1f}"
                f" max {figure.max:8.1f} first {figure.first:8.1f} ms n={figure.n}"
                f" load {figure.load} {mark}"
            )
        app.extensions["mibarrio"].engine.dispose()
        results["pages"] = [f.__dict__ for f in figures]
        ok = ok and all(f.ok for f in figures)

    if not args.no_prepare:
        workdir = Path(args.results_dir)
        workdir.mkdir(parents=True, exist_ok=True)
        prep = prepare_citywide(url, args.redis_url, workdir)
        results["prepare"] = prep
        log(json.dumps(prep))
        ok = (
            ok
            and prep["prepare_seconds"] <= PREPARE_TARGET_S
            and prep["worker_hwm_mb_after_enqueue"] <= RSS_TARGET_MB
        )

    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "city.json").write_text(json.dumps(results, indent=2, default=str))
    print("| who | call | n | first ms | p50 ms | p95 ms | max ms | load | p95 <= 300 ms |")
    print("|---|---|--:|--:|--:|--:|--:|---|---|")
    for f in figures:
        print(
            f"| {f.who} | {f.label} | {f.n} | {f.first:.0f} | {f.p50:.0f} | {f.p95:.0f}"
            f" | {f.max:.0f} | {f.load} | {'yes' if f.ok else 'NO'} |"
        )
    if "prepare" in results:
        p = results["prepare"]
        print(
            f"\nprepare city-wide broadcast: {p['recipients']:,} delivery rows, "
            f"{p['prepare_seconds']} s (target {PREPARE_TARGET_S:.0f}); worker peak RSS "
            f"{p['worker_hwm_mb_after_enqueue']} MB (target {RSS_TARGET_MB:.0f}); load {p['load']}"
        )
    if "seed" in results:
        print(f"\nseed: {results['seed']['seconds']} s (load {results['seed']['load_before']})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
