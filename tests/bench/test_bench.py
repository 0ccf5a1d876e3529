"""`make bench` keeps working: the webhook benchmark runs end to end at a tiny scale.

Its figures are for the README, not for this test; what is checked is that both servers were
loaded in turns, answered every request, and that the results were written and printed.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Each runs a benchmark in subprocesses (gunicorn, the app of a `git archive` of HEAD).
pytestmark = pytest.mark.slow


TINY = [
    sys.executable, "bench/webhook.py",
    "--db", "sqlite",
    "--residents", "300", "--phones", "200", "--max-requests", "20000",
    "--connections", "4", "--warmup", "0.3", "--duration", "1", "--rounds", "2",
    "--no-paced", "--idle-wait", "0", "--retries", "0",
]  # fmt: skip


def test_the_webhook_benchmark_loads_both_servers_in_turns_and_writes_its_results(
    tmp_path: Path,
) -> None:
    cmd = [*TINY, "--results-dir", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)

    # 0: every target met; 1: one was missed on this machine (a finding, not a breakage).
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    results = json.loads((tmp_path / "webhook-sqlite.json").read_text())
    assert set(results["targets"]) == {"real", "bare"}
    for name, target in results["targets"].items():
        assert target["requests"] > 0, name
        assert target["errors"] == 0, (name, target["error_kinds"])
        assert len(target["turn_rps"]) == 2, name  # two turns each, taken alternately
        assert all(rps > 0 for rps in target["turn_rps"]), name
    assert results["ratio_real_to_bare"] > 0
    assert "sqlite: real/bare = " in proc.stdout and "turn by turn" in proc.stdout
    assert "PASS" in proc.stdout or "FAIL" in proc.stdout  # the targets were checked


def test_a_change_is_compared_with_a_git_revision_of_the_app_in_turns(tmp_path: Path) -> None:
    cmd = [*TINY, "--results-dir", str(tmp_path), "--baseline", "HEAD", "--keep"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)

    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    results = json.loads((tmp_path / "webhook-sqlite.json").read_text())
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert results["settings"]["baseline"] == head
    assert set(results["targets"]) == {"real", "baseline"}  # no bare endpoint this time
    for name, target in results["targets"].items():
        assert target["requests"] > 0, name
        assert target["errors"] == 0, (name, target["error_kinds"])
        assert len(target["turn_rps"]) == 2, name
    assert "sqlite: real/baseline = " in proc.stdout
    assert "targets not checked" in proc.stdout  # they are for the app against bare
    kept = Path(proc.stdout.split("kept ", 1)[1].split()[0])
    try:  # the baseline ran from its own copy of the revision, on its own database
        assert (kept / "baseline" / "bot" / "__init__.py").is_file()
        assert (kept / "baseline.db").is_file()
    finally:
        shutil.rmtree(kept, ignore_errors=True)


def test_a_setting_given_with_env_reaches_the_working_trees_app(tmp_path: Path) -> None:
    # Another auth token: the working tree's app refuses the signed requests (403) and the
    # run stops at its first one; without --env the same run goes through (test above).
    cmd = [*TINY, "--results-dir", str(tmp_path), "--baseline", "HEAD"]
    cmd += ["--env", "TWILIO_AUTH_TOKEN=not-the-one-the-requests-were-signed-with"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)

    assert proc.returncode == 2, proc.stdout + proc.stderr  # the real app's smoke test fails
    assert "real: a single request got HTTP 403" in proc.stderr
    assert "the working tree's app with TWILIO_AUTH_TOKEN=" in proc.stdout  # said up front


def test_the_instruction_count_replays_the_mix_on_each_tree_and_writes_its_results(
    tmp_path: Path,
) -> None:
    cmd = [
        sys.executable, "bench/instructions.py", "--texts", "3", "--skip", "1",
        "--residents", "50", "--phones", "40", "--no-count", "--baseline", "HEAD",
        "--results-dir", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180)

    assert proc.returncode == 0, proc.stdout + proc.stderr  # a non-200 answer fails the replay
    results = json.loads((tmp_path / "instructions-sqlite.json").read_text())
    assert results["baseline_revision"] == "HEAD" and sum(results["mix"].values()) == 4
    assert "work: not counted" in proc.stdout and "baseline: not counted" in proc.stdout


def test_the_replay_fails_when_the_app_does_not_answer(tmp_path: Path) -> None:
    """What makes a count mean something: every request was answered with 200."""
    requests = tmp_path / "requests.pickle"
    with requests.open("wb") as f:  # signed with another token: the app must refuse it
        pickle.dump([(b"From=%2B59171234567&To=%2B59122000000&MessageSid=SM1", "bad")], f)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "PYTHONPATH": str(ROOT)}
    env["TWILIO_AUTH_TOKEN"] = "token"
    cmd = [sys.executable, "bench/instructions.py", "replay", str(requests), "1"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "the app answered 403" in proc.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instructions_are_counted_the_same_each_time_and_grow_with_the_work() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from instructions import instructions
    finally:
        sys.path.remove(str(ROOT / "bench"))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    idle = [instructions([sys.executable, "-S", "-c", "pass"], env) for _ in range(2)]
    busy = instructions([sys.executable, "-S", "-c", "sum(range(10**6))"], env)
    assert abs(idle[0] - idle[1]) < idle[0] / 1000  # the same run, the same count
    assert busy > idle[0] + 10**7  # a million additions cost far more than starting
