"""`make bench` keeps working: the webhook benchmark runs end to end at a tiny scale.

Its figures are for the README, not for this test; what is checked is that both servers were
loaded in turns, answered every request, and that the results were written and printed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
