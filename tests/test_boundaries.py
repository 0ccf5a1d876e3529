"""The dependency direction of DESIGN.md, kept by the build: a change that crosses it fails here.

The contracts themselves are in pyproject.toml ([tool.importlinter]); this module runs them and
checks what a contract cannot say: what the worker really loads, and that no project import
hides inside a function.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "worker", "storage")
# What the worker may use of bot: rendering and sending the texts we start, and the evidence
# exports it builds as jobs (measures over storage; no Flask, no conversation).
WORKER_MAY_IMPORT = {
    "bot.config",
    "bot.i18n",
    "bot.channels",
    "bot.render",
    "bot.outbound",
    "bot.evidence",
    "bot.evidence.export",
    "bot.evidence.measures",
    # The evidence worker computes the default views with each refresh (memo, compare).
    "bot.evidence.compare",
    "bot.evidence.memo",
}


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " 0 broken" in proc.stdout, proc.stdout[-2000:]


def test_loading_the_worker_loads_neither_flask_nor_the_conversation() -> None:
    code = (
        "import json, sys, worker.jobs, worker.runner; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m == 'flask' or m.startswith(('bot.', 'flask.')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert "flask" not in loaded
    assert loaded <= WORKER_MAY_IMPORT, loaded - WORKER_MAY_IMPORT


def _sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def _project_module(node: ast.Import | ast.ImportFrom) -> str | None:
    names = (
        [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    )
    if isinstance(node, ast.ImportFrom) and node.level:
        return "." * node.level + (node.module or "")  # relative: always the project
    for name in names:
        if name.split(".")[0] in PACKAGES:
            return name
    return None


def test_no_project_import_hides_inside_a_function() -> None:
    hidden = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom) and _project_module(node):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hidden == []


def test_the_worker_imports_only_the_outbound_parts_of_bot() -> None:
    used = set()
    for path in (ROOT / "worker").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = _project_module(node)
                if module and module.startswith("bot"):
                    if isinstance(node, ast.ImportFrom) and module == "bot":
                        used.update(f"bot.{alias.name}" for alias in node.names)
                    else:
                        used.add(module)
    assert used <= WORKER_MAY_IMPORT, used - WORKER_MAY_IMPORT
