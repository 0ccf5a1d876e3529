"""The translators' page alone: /admin/textos and /admin/textos/<key>, timed on a small SQLite
database (the page reads the catalogs and the code, not the database, so the city's size does
not change it).

    .venv/bin/python bench/textos.py [--requests 30] [--profile PATH]

Signs in as a translator through the login form, makes two unmeasured requests per page (the
first request of a process reads the code once), then --requests timed ones through the Flask
test client; prints p50/p95/max in ms and the load average. --profile writes a pyinstrument
HTML profile of the timed requests of /admin/textos (pyinstrument must be installed).

The catalogs are a copy in a temporary directory: the last line times /admin/textos right
after the Aymara catalog was saved (as an edit on the page saves it), the save not counted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import i18n  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.i18n import catalogs  # noqa: E402
from bot.passwords import hash_password  # noqa: E402
from storage import staff  # noqa: E402
from storage.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from storage.enums import StaffRole  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.seed import seed_zones  # noqa: E402

BASE = "https://localhost"
EMAIL = "bench-textos@lapaz.bo"
PASSWORD = "bench-textos-password-1"
TARGET_MS = 300.0
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "locales"
        shutil.copytree(i18n.LOCALES_DIR, copy, ignore=shutil.ignore_patterns("*.pot"))
        i18n.LOCALES_DIR = catalogs.LOCALES_DIR = copy  # type: ignore[misc]
        url = f"sqlite:///{tmp}/textos.db"
        upgrade(url)
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as session:
            seed_zones(session)
            staff.add_user(session, EMAIL, StaffRole.TRANSLATOR, hash_password(PASSWORD))
        engine.dispose()
        app = create_app(Config(database_url=url, secret_key="bench", quiet_hours="off"))
        client = app.test_client()
        login = client.get("/admin/login", base_url=BASE).get_data(as_text=True)
        token = CSRF.search(login)
        assert token, "no CSRF token on the login page"
        answer = client.post(
            "/admin/login",
            data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD},
            base_url=BASE,
            headers={"Referer": BASE + "/admin/login"},
        )
        if answer.status_code != 302:
            raise SystemExit(f"login: {answer.status_code}")
        listing = client.get("/admin/textos", base_url=BASE).get_data(as_text=True)
        found = re.search(r'href="/admin/textos/([^"?]+)"', listing)
        assert found, "no message on /admin/textos"
        pages = {
            "GET /admin/textos": "/admin/textos",
            "GET /admin/textos?buscar=zona": "/admin/textos?buscar=zona",
            "GET /admin/textos/<key>": f"/admin/textos/{found.group(1)}",
            "GET /admin/textos after a save": "/admin/textos",
        }
        load = os.getloadavg()[0]
        print(f"load average (1 min) at start: {load:.2f}; {args.requests} requests per page")
        print("| page | p50 ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|")
        worst = 0.0
        for name, path in pages.items():
            for _ in range(2):
                assert client.get(path, base_url=BASE).status_code == 200
            profiler = None
            if args.profile and path == "/admin/textos":
                from pyinstrument import Profiler

                profiler = Profiler()
                profiler.start()
            times = []
            for _ in range(args.requests):
                if name.endswith("after a save"):
                    catalogs.save("ay", catalogs.load("ay"))
                started = time.perf_counter()
                answer = client.get(path, base_url=BASE)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            if profiler is not None:
                profiler.stop()
                args.profile.write_text(profiler.output_html(), encoding="utf-8")
                print(profiler.output_text(unicode=False, color=False), file=sys.stderr)
            p95 = _percentile(times, 95)
            worst = max(worst, p95)
            print(f"| {name} | {statistics.median(times):.0f} | {p95:.0f} | {max(times):.0f} |")
        print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
