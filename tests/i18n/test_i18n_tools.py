"""The catalog tooling: extract, update (fuzzy on changed Spanish), the glossary check, the
translators' review CSV (round trip, edits, refusals) and the `mibarrio i18n` commands.

Everything that writes works on a copy of bot/locales: others edit the real catalogs.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from bot import i18n
from bot.cli import main
from bot.i18n import catalogs, glossary, review
from tests.helpers import REPO

GLOSSARY_DOC = REPO / "docs" / "aymara-glossary.md"


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the catalogs that the tooling reads and writes."""
    copy = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, copy, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    monkeypatch.setattr(catalogs, "LOCALES_DIR", copy)
    return copy


def po_text(locales: Path, lang: str) -> str:
    return (locales / lang / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")


def set_ay(msgid: str, text: str) -> None:
    ay = catalogs.load("ay")
    ay[msgid].string = text
    catalogs.save("ay", ay)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=review.COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["i18n", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# --- extract -----------------------------------------------------------------------------------


def test_extract_writes_a_template_with_every_message(locales: Path) -> None:
    code, out, _ = invoke("extract")
    assert code == 0 and "messages ->" in out
    pot = locales / "messages.pot"
    text = pot.read_text(encoding="utf-8")
    with pot.open("rb") as fh:
        template = read_po(fh)
    assert {m.id for m in template if m.id} == set(catalogs.extract())
    assert "POT-Creation-Date" not in text  # no dates: it only changes when messages do
    catalogs.write_pot()
    assert pot.read_text(encoding="utf-8") == text


@pytest.mark.slow  # runs pybabel in a subprocess
def test_pybabel_with_babel_cfg_finds_the_same_messages(tmp_path: Path) -> None:
    pybabel = Path(sys.executable).with_name("pybabel")
    out = tmp_path / "pybabel.pot"
    subprocess.run(
        [str(pybabel), "-q", "extract", "-F", "babel.cfg", "--no-default-keywords"]
        + ["-k", "N_", "-o", str(out), "."],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with out.open("rb") as fh:
        found = {m.id for m in read_po(fh) if m.id}
    assert found == set(catalogs.extract())


# --- update ------------------------------------------------------------------------------------


def test_update_marks_changed_spanish_fuzzy_keeping_the_old_translation(
    locales: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = catalogs.extract_messages()
    old_id = "No borramos nada."
    new_id = "No borramos ningún dato."
    old_ay = catalogs.load("ay")[old_id].string
    changed = [
        catalogs.Extracted(new_id if m.msgid == old_id else m.msgid, m.locations, m.comments)
        for m in real
    ]
    changed.append(catalogs.Extracted("Una pregunta nueva del todo: {zone}", ["bot/x.py:1"]))
    monkeypatch.setattr(catalogs, "extract_messages", lambda: changed)

    result = catalogs.update()

    assert result.fuzzy == {"es": 0, "ay": 1} and result.added == {"es": 2, "ay": 1}
    assert result.dropped == {"es": 1, "ay": 1}
    ay = catalogs.load("ay")
    kept = ay[new_id]
    assert kept.fuzzy and kept.string == old_ay and kept.previous_id == [old_id]
    assert ay.get(old_id) is None
    assert ay["Una pregunta nueva del todo: {zone}"].string == ""
    assert catalogs.load("es")[new_id].string == new_id
    catalogs.save("ay", catalogs.load("ay"))  # any later tooling run keeps the old Spanish
    text = po_text(locales, "ay")
    assert f'#| msgid "{old_id}"' in text
    assert "Plural-Forms: nplurals=1; plural=0;" in text
    problems = "\n".join(catalogs.check())
    assert "fuzzy, needs review (the Spanish was 'No borramos nada.')" in problems
    assert "Una pregunta nueva del todo" in problems and "missing" in problems


def test_update_twice_changes_nothing_the_second_time(locales: Path) -> None:
    catalogs.update()
    before = {lang: po_text(locales, lang) for lang in i18n.LANGUAGES}
    result = catalogs.update()
    assert sum(result.added.values()) == sum(result.fuzzy.values()) == 0
    assert {lang: po_text(locales, lang) for lang in i18n.LANGUAGES} == before
    with (locales / "ay" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        assert read_po(fh).plural_forms == "nplurals=1; plural=0;"


# --- the glossary ------------------------------------------------------------------------------


def test_glossary_term_used_inconsistently_fails_the_check(locales: Path) -> None:
    set_ay("Agua", "Yaku")  # Quechua, not the chosen Aymara "uma"
    set_ay("Cambiamos su voto. {results}", "Chimpuntawim mayjt'ayapxta. {results}")
    set_ay(
        "¿Borrar su número y sus datos de Mi Barrio? Las cifras anónimas se quedan. "
        "1 Sí, borrar / 2 No",
        "Jakhumsa datosamsa Mi Barrio-t pichsuñati? 1 Jisa / 3 Janiwa",
    )
    set_ay("No borramos nada.", "Janiw kunas pichsutakiti’.")
    problems = "\n".join(catalogs.check())
    assert "'Agua' (bot/outbound.py" in problems
    assert "'agua' must be 'uma' in Aymara" in problems
    assert "'chimpuntawi' is not the chosen form" in problems
    assert "numbers: the digits differ" in problems
    assert "orthography: '’'" in problems


def test_glossary_reads_spanish_with_its_accents() -> None:
    # "si" (if) is not "sí" (yes); "No acepto" is not the answer "No".
    assert (
        glossary.problems(
            "Responda 1 si acepta o 2 si no acepta.",
            "Responda 1 si acepta o 2 si no acepta.",
            "Iyaw satax 1, janiw satax 2 qillqt'am.",
        )
        == []
    )
    assert "glossary: 'sí' must be 'jisa' in Aymara" in glossary.problems(
        "1 Sí / 2 No", "1 Sí / 2 No", "1 Iyaw / 2 Janiwa"
    )
    # Aymara suffixes: the chosen form starts a word.
    assert glossary.problems("Sus reportes", "Sus reportes", "Reportenakama") == []


def test_exemptions_name_real_messages() -> None:
    assert glossary.stale_exemptions(set(catalogs.extract())) == []
    assert glossary.stale_exemptions(set()) != []


def test_every_glossary_choice_is_in_the_glossary_document() -> None:
    doc = GLOSSARY_DOC.read_text(encoding="utf-8").casefold()
    assert "bot/i18n/glossary.py" in doc
    missing = []
    for term in glossary.TERMS:
        for form in re.split(r" / ", term.ay.split(" (")[0]):
            if form.casefold() not in doc:
                missing.append((term.concept, form))
    assert missing == []


def test_glossary_covers_the_recurring_concepts() -> None:
    concepts = {t.concept for t in glossary.TERMS}
    for concept in (
        "zona",
        "report (noun)",
        "poll",
        "vote",
        "news",
        "help",
        "menu",
        "yes",
        "no",
        "water",
        "light",
        "trash",
        "street",
        "security",
        "health",
        "number",
    ):
        assert concept in concepts


# --- the review CSV ----------------------------------------------------------------------------


@pytest.mark.slow  # over 1 s: exports and imports every message
def test_review_csv_round_trips(locales: Path, tmp_path: Path) -> None:
    before = {lang: po_text(locales, lang) for lang in i18n.LANGUAGES}
    path = tmp_path / "review.csv"
    code, out, _ = invoke("export-review", str(path))
    assert code == 0
    rows = read_csv(path)
    assert tuple(rows[0]) == review.COLUMNS
    assert len(rows) == len(catalogs.extract())

    code, out, _ = invoke("import-review", str(path))

    assert code == 0 and f"changed 0, unchanged {len(rows)}, refused 0" in out
    assert {lang: po_text(locales, lang) for lang in i18n.LANGUAGES} == before
    again = tmp_path / "again.csv"
    review.export_review(again)
    assert again.read_bytes() == path.read_bytes()


def test_review_csv_tells_the_translator_where_and_which_terms(
    locales: Path, tmp_path: Path
) -> None:
    path = tmp_path / "review.csv"
    review.export_review(path)
    rows = {r["msgid"]: r for r in read_csv(path)}
    menu = next(r for m, r in rows.items() if m.startswith("Menú: 1 Reportar"))
    assert "bot/flows/menu.py:" in menu["context"] and "flow menu" in menu["context"]
    assert "MENU" in menu["context"]  # the constant, for developers
    assert "noticias = yatiyäwinaka (M)" in menu["glossary_notes"]
    assert "ayuda = yanapa (H)" in menu["glossary_notes"]
    assert menu["es_segments"] == menu["ay_segments"] == "1"
    assert menu["status"] == "draft"
    agua = rows["Agua"]
    assert (
        "CATEGORY_LABELS['agua']" in agua["context"]
        and "outbound.category_label()" in agua["context"]
        and "reports.on_category()" in agua["context"]
    )


@pytest.mark.slow  # over 1 s: exports and imports every message
def test_import_applies_edits_and_marks_changed_spanish_for_review(
    locales: Path, tmp_path: Path
) -> None:
    path = tmp_path / "review.csv"
    review.export_review(path)
    rows = read_csv(path)
    by_id = {r["msgid"]: r for r in rows}
    by_id["No borramos nada."]["ay"] = "Janiw kunas pichsktti."
    by_id["No borramos nada."]["status"] = "reviewed"
    by_id["Reporte cancelado."]["ay"] = "Reportex janiw apayatäkiti’."  # curly, as phones type it
    by_id["No hay más noticias."]["es"] = "Ya no hay más noticias."  # Spanish only
    write_csv(path, rows)

    code, out, err = invoke("import-review", str(path))

    assert code == 0, err
    assert "changed 3," in out
    ay, es = catalogs.load("ay"), catalogs.load("es")
    assert ay["No borramos nada."].string == "Janiw kunas pichsktti."
    assert catalogs.REVIEWED_COMMENT in ay["No borramos nada."].user_comments
    assert ay["Reporte cancelado."].string == "Reportex janiw apayatäkiti'."
    assert es["No hay más noticias."].string == "Ya no hay más noticias."
    stale = ay["No hay más noticias."]
    assert stale.fuzzy and stale.previous_id == ["No hay más noticias."]
    assert "fuzzy, needs review" in "\n".join(catalogs.check())
    # Seen again by the translator, unchanged but marked draft: no longer needs review.
    review.export_review(path)
    rows = read_csv(path)
    row = next(r for r in rows if r["msgid"] == "No hay más noticias.")
    assert row["status"] == "needs review" and "the Spanish was" in row["context"]
    row["status"] = "draft"
    write_csv(path, rows)
    assert invoke("import-review", str(path))[0] == 0
    assert not catalogs.load("ay")["No hay más noticias."].fuzzy
    assert "#| msgid" not in po_text(locales, "ay")


def test_rewriting_a_fuzzy_translation_is_its_review(locales: Path, tmp_path: Path) -> None:
    ay = catalogs.load("ay")
    ay["Reporte cancelado."].flags.add("fuzzy")
    ay["Reporte cancelado."].previous_id = ["Reporte anulado."]
    catalogs.save("ay", ay)
    path = tmp_path / "review.csv"
    review.export_review(path)
    rows = read_csv(path)
    row = next(r for r in rows if r["msgid"] == "Reporte cancelado.")
    assert row["status"] == "needs review"
    assert "the Spanish was: Reporte anulado." in row["context"]
    row["ay"] = "Reportex janiw apayaskiti."
    write_csv(path, rows)
    assert invoke("import-review", str(path))[0] == 0
    fixed = catalogs.load("ay")["Reporte cancelado."]
    assert not fixed.fuzzy and fixed.string == "Reportex janiw apayaskiti."


def test_import_refuses_broken_rows_and_writes_only_the_good_ones(
    locales: Path, tmp_path: Path
) -> None:
    path = tmp_path / "review.csv"
    review.export_review(path)
    rows = read_csv(path)
    by_id = {r["msgid"]: r for r in rows}
    zone_msgid = next(m for m in by_id if m.startswith("Zona {zone}. Guardamos"))
    original_zone_ay = by_id[zone_msgid]["ay"]
    by_id[zone_msgid]["ay"] = original_zone_ay.replace("{zone}", "{zona}")
    by_id["Listo, su zona ahora es {zone}."]["ay"] = "Walikiwa, jichhax zonamax {zone."
    by_id["Nota: {note}"]["es"] = "Nota:"
    by_id["Agua"]["ay"] = ""
    by_id["Basura"]["status"] = "listo"
    by_id["Salud"]["ay"] = "Qullaña"  # the one good row
    rows.append({**by_id["Otro"], "ay": "Yaqhampi"})  # a duplicate
    rows.append({**by_id["Otro"], "msgid": "Un mensaje que ya no existe", "ay": "x"})
    write_csv(path, rows)

    code, out, err = invoke("import-review", str(path))

    assert code == 1
    assert "changed 1," in out and "refused 7" in out
    for expected in (
        "placeholders differ: missing {zone}; unknown {zona}",
        "broken braces",
        "es: placeholders differ: missing {note}",
        "ay is empty",
        "status 'listo' is not one of",
        "appears twice",
        "unknown msgid",
    ):
        assert expected in err, expected
    assert all(line.startswith("refused: row ") for line in err.splitlines() if "refused" in line)
    assert "warning: row" in err and "'salud' must be 'salud'" in err  # applied, but flagged
    ay = catalogs.load("ay")
    assert ay[zone_msgid].string == original_zone_ay
    assert ay["Agua"].string == "Uma" and ay["Salud"].string == "Qullaña"
    assert "Nota: {note}" == catalogs.load("es")["Nota: {note}"].string


def test_import_refuses_a_file_without_the_columns(locales: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("id,text\n1,hola\n", encoding="utf-8")
    before = po_text(locales, "ay")
    code, _, err = invoke("import-review", str(path))
    assert code == 1 and "missing column(s) msgid, es, ay, status" in err
    assert po_text(locales, "ay") == before


def test_dry_run_writes_nothing(locales: Path, tmp_path: Path) -> None:
    path = tmp_path / "review.csv"
    review.export_review(path)
    rows = read_csv(path)
    rows[0]["ay"] = rows[0]["ay"] + " "  # stripped: no change
    next(r for r in rows if r["msgid"] == "Salud")["ay"] = "Qullaña"
    write_csv(path, rows)
    before = po_text(locales, "ay")
    code, out, _ = invoke("import-review", "--dry-run", str(path))
    assert code == 0 and "would change 1" in out
    assert po_text(locales, "ay") == before


# --- the commands ------------------------------------------------------------------------------


def test_check_command_exits_non_zero_on_problems(locales: Path) -> None:
    assert invoke("check")[0] == (1 if catalogs.check() else 0)
    set_ay("Agua", "Yaku")
    code, _, err = invoke("check")
    assert code == 1 and "'agua' must be 'uma'" in err


def test_update_command_reports_what_it_did(locales: Path) -> None:
    code, out, _ = invoke("update")
    assert code == 0 and re.search(r"ay: \d+ new, \d+ to review", out), out
    assert (locales / "messages.pot").exists()
    assert "Plural-Forms: nplurals=1; plural=0;" in po_text(locales, "ay")


def test_cost_command_prints_or_writes_the_table(locales: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("cost")
    assert code == 0 and "| message | es segments | ay segments | es chars | ay chars |" in out
    target = tmp_path / "cost.md"
    assert invoke("cost", "--write", str(target))[0] == 0
    assert target.read_text(encoding="utf-8") == out


def test_extraction_sees_a_source_file_changed_added_or_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "bot" / "flows").mkdir(parents=True)
    (repo / "babel.cfg").write_text("[python: bot/**.py]\n", encoding="utf-8")
    first = repo / "bot" / "flows" / "one.py"
    first.write_text('N_("Uno")\n', encoding="utf-8")
    monkeypatch.setattr(catalogs, "REPO", repo)
    monkeypatch.setattr(catalogs, "ROOT", repo / "bot")
    monkeypatch.setattr(catalogs, "BABEL_CFG", repo / "babel.cfg")

    assert catalogs.extract() == {"Uno": ["bot/flows/one.py:1"]}
    second = repo / "bot" / "two.py"
    second.write_text('x = 1\nN_("Dos")\n', encoding="utf-8")
    assert catalogs.extract() == {"Uno": ["bot/flows/one.py:1"], "Dos": ["bot/two.py:2"]}
    first.write_text('N_("Una")\n', encoding="utf-8")  # rewritten in place, the same size
    assert set(catalogs.extract()) == {"Una", "Dos"}
    second.unlink()
    assert catalogs.extract() == {"Una": ["bot/flows/one.py:1"]}
    ignored = repo / "bot" / "notes.txt"
    ignored.write_text('N_("Cuatro")\n', encoding="utf-8")
    assert catalogs.extract() == {"Una": ["bot/flows/one.py:1"]}
