"""Instructions per text: what the app costs, counted by valgrind (callgrind) instead of timed.

This machine's speed drifts by tens of percent from one minute to the next (the same code has
measured 1.8 and 3.9 ms of CPU per text within the hour), so a change worth a few percent
cannot be read off a clock. callgrind counts the instructions a process executes: the same
count for the same code and inputs, whatever else the machine is doing.

The app runs in one process, without gunicorn, and answers bench/webhook.py's signed requests
(the same mix, the same seed) through its WSGI interface, on a fresh copy of a database seeded
by its own code. It runs twice, with --skip and with --skip + --texts requests; the difference
divided by --texts is the instructions per text, without start-up and imports (about 2.5
billion instructions, 50 s under valgrind). On PostgreSQL only the app's own instructions are
counted, not the server's.

    .venv/bin/python bench/instructions.py [--db sqlite|postgresql] [--texts 400] [--skip 200]
        [--baseline REV]

--baseline REV counts the app as of git revision REV the same way and prints the ratio.
Needs valgrind (Debian: apt-get install valgrind).
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INBOUND_PATH = "/twilio/inbound"
PORT = 5000  # what the requests are signed for; nothing listens
PUBLIC_URL = f"http://127.0.0.1:{PORT}"
COLLECTED = re.compile(rb"Collected : (\d+)")


# The measured process imports only the app: the code under test may be a git revision's,
# which need not have what the benchmark's own modules import.


def instructions(command: Sequence[str], env: dict[str, str] | None = None) -> int:
    """The instructions `command` executes, counted by callgrind (its own, not its children's)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("bench/instructions.py needs valgrind (Debian: apt-get install valgrind)")
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env=env,
        capture_output=True,
    )
    found = COLLECTED.search(proc.stderr)
    if proc.returncode or found is None:
        said = proc.stderr.decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{command[0]} under callgrind failed: {' / '.join(said)}")
    return int(found.group(1))


# --- the measured process ---------------------------------------------------------------------


def replay(requests_file: Path, count: int) -> None:
    """Create the app from the environment and have it answer the first `count` requests."""
    from bot.app import create_app

    app = create_app()
    with requests_file.open("rb") as f:
        requests: list[tuple[bytes, str]] = pickle.load(f)
    status: list[str] = []

    def start_response(code: str, _headers: Any, _exc_info: Any = None) -> Any:
        status.append(code)

    for body, signature in requests[:count]:
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": INBOUND_PATH,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(PORT),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_TWILIO_SIGNATURE": signature,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        response = app(environ, start_response)
        b"".join(response)
        getattr(response, "close", lambda: None)()
        if not status[-1].startswith("200"):
            raise SystemExit(f"the app answered {status[-1]}")


# --- one code tree ----------------------------------------------------------------------------


class Tree:
    """A copy of the app's code (the working tree, or a git revision) and its seeded database."""

    def __init__(self, name: str, code: Path, db: str, workdir: Path, args: argparse.Namespace):
        from webhook import fresh_sqlite, migrate_and_seed, reset_postgres, sibling_database

        self.name, self.code, self.db, self.workdir = name, code, db, workdir
        self.pg_url = args.pg_url
        if db == "sqlite":
            self.template = fresh_sqlite(workdir / f"{name}-template.db")
        else:
            self.template = sibling_database(args.pg_url, f"_instr_{name}")
            reset_postgres(self.template)
        migrate_and_seed(code, self.env(self.template), args.residents)

    def env(self, url: str) -> dict[str, str]:
        from webhook import server_env

        env = server_env(self.workdir, PORT, url)
        env["PYTHONPATH"] = str(self.code)  # ahead of the installed (editable) working tree
        env["PYTHONHASHSEED"] = "0"  # the same string hashes, so the same work, in every run
        return env

    def fresh_copy(self) -> str:
        """A database as seeded, for one run: what earlier runs wrote is gone."""
        from sqlalchemy import text
        from sqlalchemy.engine import make_url
        from webhook import fresh_sqlite, sibling_database

        from storage.db import make_engine

        if self.db == "sqlite":
            url = fresh_sqlite(self.workdir / f"{self.name}-run.db")
            shutil.copy(make_url(self.template).database or "", make_url(url).database or "")
            return url
        run_url = make_url(sibling_database(self.pg_url, f"_instr_{self.name}_run"))
        template = make_url(self.template).database
        engine = make_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{run_url.database}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{run_url.database}" TEMPLATE "{template}"'))
        finally:
            engine.dispose()
        return run_url.render_as_string(hide_password=False)

    def count(self, requests_file: Path, texts: int, counted: bool = True) -> int | None:
        """Instructions to start and answer the first `texts` requests (None: not counted,
        the replay only run)."""
        command = [sys.executable, str(Path(__file__).resolve()), "replay", str(requests_file)]
        env = self.env(self.fresh_copy())
        if counted:
            return instructions([*command, str(texts)], env)
        subprocess.run([*command, str(texts)], env=env, check=True)
        return None


def per_text(
    tree: Tree, requests_file: Path, skip: int, texts: int, counted: bool = True
) -> float | None:
    before = tree.count(requests_file, skip, counted)
    after = tree.count(requests_file, skip + texts, counted)
    return None if before is None or after is None else (after - before) / texts


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--texts", type=int, default=400, help="texts counted")
    p.add_argument("--skip", type=int, default=200, help="texts answered first, not counted")
    p.add_argument("--residents", type=int, default=20_000, help="synthetic residents seeded")
    p.add_argument("--phones", type=int, default=5_000, help="distinct phones texting")
    p.add_argument("--new-share", type=float, default=0.1, help="share of new numbers")
    p.add_argument("--seed", type=int, default=591)
    p.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL server (and database) beside which the databases are made",
    )
    p.add_argument("--baseline", metavar="REV", help="also count the app as of git revision REV")
    p.add_argument(
        "--no-count",
        dest="counted",
        action="store_false",
        help="run the replays without valgrind: checks the set-up in seconds, counts nothing",
    )
    p.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["replay"]:
        replay(Path(argv[1]), int(argv[2]))
        return 0
    args = parse_args(argv)
    from webhook import export_revision, generate

    with tempfile.TemporaryDirectory(prefix="mibarrio-instr-") as tmp:
        workdir = Path(tmp)
        requests, mix = generate(
            PUBLIC_URL + INBOUND_PATH,
            args.skip + args.texts,
            phones=args.phones,
            residents=args.residents,
            new_share=args.new_share,
            seed=args.seed,
        )
        requests_file = workdir / "requests.pickle"
        with requests_file.open("wb") as f:
            pickle.dump([(r.body, r.signature) for r in requests], f)
        trees = [Tree("work", ROOT, args.db, workdir, args)]
        if args.baseline:
            code = workdir / "baseline"
            export_revision(args.baseline, code)
            trees.append(Tree("baseline", code, args.db, workdir, args))
        print(
            f"# instructions per text ({args.db}): texts {args.skip + 1}-"
            f"{args.skip + args.texts} of the webhook benchmark's mix, counted by callgrind",
            flush=True,
        )
        results: dict[str, Any] = {}
        for tree in trees:
            count = per_text(tree, requests_file, args.skip, args.texts, args.counted)
            results[tree.name] = count
            shown = "not counted (--no-count)" if count is None else f"{count / 1e6:.2f} M"
            print(f"  {tree.name}: {shown}", flush=True)
        if args.baseline:
            results["baseline_revision"] = args.baseline
            if args.counted:
                ratio = results["work"] / results["baseline"]
                print(f"  working tree / {args.baseline}: {100 * ratio:.1f}%")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"instructions-{args.db}.json"
    record = {"args": {**vars(args), "results_dir": str(args.results_dir)}, "mix": mix.bodies}
    out.write_text(json.dumps({**record, **results}, indent=2))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
