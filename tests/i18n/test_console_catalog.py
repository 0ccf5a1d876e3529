"""The console's own catalog (domain "console", Spanish only): texts marked in the console's
templates and Python are extracted, merged, compiled and served, apart from the residents'
catalogs. A page someone adds later is picked up by `mibarrio i18n update` as it is.

Everything that writes works on a copy (a small tree shaped like the repository)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import i18n
from bot.cli import main
from bot.i18n import catalogs, console
from storage.enums import StaffRole
from storage.models import Zone
from tests.admin.conftest import Browser, add_staff
from tests.helpers import REPO


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with the console's mapping, a template, a view, and copied catalogs."""
    root = tmp_path / "repo"
    pages = root / "bot" / "admin" / "templates" / "admin"
    pages.mkdir(parents=True)
    shutil.copy(REPO / "babel-console.cfg", root)
    (pages / "home.html").write_text(
        '<h1>{{ _("Inicio") }}</h1><p>{{ _("Hola, %(name)s", name=user) }}</p>\n',
        encoding="utf-8",
    )
    (root / "bot" / "admin" / "views.py").write_text(
        'flash(_("Guardado."))\nLABEL = _l("Destino")\nN_("Texto de un vecino")\n',
        encoding="utf-8",
    )
    locales = root / "bot" / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    (locales / "es" / "LC_MESSAGES" / "console.po").unlink()
    monkeypatch.setattr(console, "REPO", root)
    monkeypatch.setattr(console, "MAPPING", root / "babel-console.cfg")
    monkeypatch.setattr(catalogs, "LOCALES_DIR", locales)
    console.forget()
    yield root
    console.forget()


def entries(root: Path) -> dict[str, str]:
    path = root / "bot" / "locales" / "es" / "LC_MESSAGES" / "console.po"
    with path.open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh) if m.id}


def test_texts_are_extracted_from_templates_and_views_only(tree: Path) -> None:
    found = {str(e.msgid): e.locations[0][0] for e in console.extract()}
    assert found == {
        "Inicio": "bot/admin/templates/admin/home.html",
        "Hola, %(name)s": "bot/admin/templates/admin/home.html",
        "Guardado.": "bot/admin/views.py",
        "Destino": "bot/admin/views.py",
    }  # N_(): a resident's text, for the residents' catalogs, not this one


def test_a_page_added_later_is_picked_up_and_rewording_survives(tree: Path) -> None:
    assert len(console.check()) == 4  # no catalog yet: all missing
    assert console.update() == console.Updated(added=4, dropped=0)
    assert console.check() == []
    assert entries(tree)["Inicio"] == "Inicio"  # Spanish is the source: msgstr = msgid

    po = console.load()
    po["Inicio"].string = "Portada"
    console._write(console.po_path(), po)
    # Someone's new page, marked the same way: no code change needed to pick it up.
    (tree / "bot" / "admin" / "templates" / "admin" / "ofertas.html").write_text(
        '<h1>{{ _("Ofertas de la zona") }}</h1>{% trans %}Mapeo del barrio{% endtrans %}\n',
        encoding="utf-8",
    )
    (tree / "bot" / "admin" / "views.py").write_text('flash(_("Guardado."))\n', encoding="utf-8")
    missing = console.check()
    assert len(missing) == 2 and "Ofertas de la zona" in missing[0]
    assert console.update() == console.Updated(added=2, dropped=1)
    assert entries(tree) == {
        "Inicio": "Portada",  # the rewording stays
        "Hola, %(name)s": "Hola, %(name)s",
        "Guardado.": "Guardado.",
        "Ofertas de la zona": "Ofertas de la zona",
        "Mapeo del barrio": "Mapeo del barrio",
    }  # "Destino" went with the code that used it
    assert console.compile_mo().exists()
    console.forget()
    assert console.gettext("Inicio") == "Portada"
    assert console.gettext("No está en el catálogo") == "No está en el catálogo"


def _texts(po_path: Path) -> dict[object, object]:
    """Every message of a catalog with its translation and flags, without source locations."""
    return {
        m.id: (m.string, sorted(m.flags), m.auto_comments, m.user_comments)
        for m in i18n.read_catalog(po_path)
        if m.id
    }


def test_the_commands_cover_both_domains_and_leave_messages_alone(tree: Path) -> None:
    residents_po = tree / "bot" / "locales" / "es" / "LC_MESSAGES" / "messages.po"
    residents = _texts(residents_po)
    run = CliRunner()
    checked = run.invoke(main, ["i18n", "check"])
    assert checked.exit_code == 1 and "console: 'Inicio'" in checked.output
    updated = run.invoke(main, ["i18n", "update"], catch_exceptions=False)
    assert "console: 4 new, 0 no longer used" in updated.output
    assert "console.mo" in run.invoke(main, ["i18n", "compile"]).output
    assert run.invoke(main, ["i18n", "check"]).exit_code == 0
    extracted = run.invoke(main, ["i18n", "extract"]).output
    assert "4 console texts" in extracted
    assert (tree / "bot" / "locales" / "console.pot").exists()
    assert "Inicio" not in (tree / "bot" / "locales" / "messages.pot").read_text(encoding="utf-8")
    # The residents' texts stay as they were (source line numbers may move with the code).
    assert _texts(residents_po) == residents


def test_the_console_shows_its_catalogs_text(
    app: Any, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    monkeypatch.setattr(catalogs, "LOCALES_DIR", locales)
    po = console.load()
    po["Participación por zona"].string = "Vecinos inscritos por zona"
    console._write(console.po_path(), po)
    console.forget()
    try:
        add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
        browser = Browser(app.test_client())
        browser.login("alcaldia@lapaz.bo")
        page = browser.get("/admin/").get_data(as_text=True)
    finally:
        console.forget()
    assert "Vecinos inscritos por zona" in page
    assert "Participación por zona" not in page


def test_the_real_catalog_has_every_console_text() -> None:
    assert console.check() == []


@pytest.mark.slow  # runs pybabel in a subprocess
def test_pybabel_with_babel_console_cfg_finds_the_same_texts(tmp_path: Path) -> None:
    out = tmp_path / "console.pot"
    subprocess.run(
        [str(Path(sys.executable).with_name("pybabel")), "-q", "extract"]
        + ["-F", "babel-console.cfg", "-k", "_", "-k", "_l", "-k", "gettext_noop"]
        + ["-o", str(out), "."],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with out.open("rb") as fh:
        found = {m.id for m in read_po(fh) if m.id}
    assert found == {entry.msgid for entry in console.extract()}
    assert "Participación por zona" in found and "Correo electrónico" in found


def _spelled_out(node: ast.expr | None) -> bool:
    """Spanish written in place rather than looked up: a string literal with words, an
    f-string, or either one inside a conditional, a sum or a .format()."""
    match node:
        case ast.Constant(value=str() as text):
            return any(c.isalpha() for c in text)  # " " joining two texts is no wording
        case ast.JoinedStr():
            return True
        case ast.IfExp(body=body, orelse=orelse):
            return _spelled_out(body) or _spelled_out(orelse)
        case ast.BinOp(left=left, right=right):
            return _spelled_out(left) or _spelled_out(right)
        case ast.Call(func=ast.Attribute(value=value, attr="format")):
            return _spelled_out(value)
    return False


def _flashes_spelled_out(source: str) -> list[int]:
    """Lines of flash() calls whose message is spelled out, directly or through a name
    assigned in the same function."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        assigned: dict[str, list[ast.expr]] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AugAssign | ast.AnnAssign) and node.value is not None:
                if isinstance(node.target, ast.Name):
                    assigned.setdefault(node.target.id, []).append(node.value)
        for node in ast.walk(function):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "flash"
                and node.args
            ):
                continue
            message = node.args[0]
            values = assigned.get(message.id, []) if isinstance(message, ast.Name) else [message]
            if any(_spelled_out(value) for value in values):
                found.append(node.lineno)
    return found


def test_the_ast_check_finds_spelled_out_flashes() -> None:
    source = (
        "def view(n, new):\n"
        '    flash(_("Guardado {n}.").format(n=n))\n'
        '    flash(f"Guardado {n}.")\n'
        '    flash("Guardado.", "error")\n'
        '    flash(_("Nuevo.") if new else "Viejo.")\n'
        '    message = f"Registro {n} corregido."\n'
        "    flash(message)\n"
        '    closed = _("Cerrada.")\n'
        '    closed += " " + _("Cancelada.")\n'
        "    flash(closed)\n"
    )
    assert _flashes_spelled_out(source) == [3, 4, 5, 7]


def test_every_console_flash_goes_through_the_console_catalog() -> None:
    """What staff are told after an action can be reworded on the Texts page like the rest of
    the console: no flash() in bot/admin writes its Spanish in place."""
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for path in sorted((REPO / "bot" / "admin").glob("*.py"))
        for line in _flashes_spelled_out(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_console_shows_reworded_flashes_and_evidence_labels(
    app: Any, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flash message and the Evidencia page's measure names reworded in the console catalog
    are what staff read; the printed summary and the exports keep their own words."""
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    monkeypatch.setattr(catalogs, "LOCALES_DIR", locales)
    po = console.load()
    po["Nuevos inscritos"].string = "Altas del periodo"
    po["Votos en encuestas"].string = "Votos emitidos"
    po[
        "{zone}: las ofertas nuevas se muestran sin aprobación previa."
    ].string = "{zone}: ofertas sin aprobación previa."
    console._write(console.po_path(), po)
    console.forget()
    try:
        add_staff(sessions, "alcaldia@lapaz.bo", StaffRole.MUNICIPALITY)
        browser = Browser(app.test_client())
        browser.login("alcaldia@lapaz.bo")
        with sessions() as session:
            sopocachi = session.scalars(select(Zone.id).where(Zone.name == "Sopocachi")).one()
        off = {"zona": sopocachi, "moderada": "0"}
        browser.post("/admin/ofertas/moderacion", off, form="/admin/ofertas")
        offers_page = browser.get("/admin/ofertas").get_data(as_text=True)
        evidence = browser.get(
            "/admin/evidence?from=2026-11-02&to=2026-11-15&fecha=2026-11-09&dias=7"
        ).get_data(as_text=True)
    finally:
        console.forget()
    assert "Sopocachi: ofertas sin aprobación previa." in offers_page
    assert "<td>Altas del periodo</td>" in evidence  # the table of measures and before/after
    assert evidence.count("<td>Altas del periodo</td>") == 2
    assert "<td>Votos emitidos</td>" in evidence
    assert "Nuevos inscritos" not in evidence
