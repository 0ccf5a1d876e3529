"""Spanish and Aymara catalogs: complete, consistent, and every prompt fits one SMS."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot import i18n
from bot.channels import is_gsm7, render, segments
from bot.i18n import catalogs
from bot.i18n import cost as smscost


def test_catalogs_have_every_message_in_both_languages() -> None:
    assert catalogs.check() == []


def test_aymara_catalog_uses_one_plural_form() -> None:
    ay = i18n.translations("ay")
    assert [ay.plural(n) for n in (0, 1, 2, 5)] == [0, 0, 0, 0]
    assert i18n.translations("es").plural(2) == 1


def test_check_catches_a_lost_plural_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pybabel update` drops Plural-Forms for locales CLDR does not know: check must say so."""
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales)
    ay_po = locales / "ay" / "LC_MESSAGES" / "messages.po"
    original = catalogs.load("ay")
    stripped = Catalog(locale=None, domain="messages")
    for message in original:
        if message.id:
            stripped.add(message.id, message.string)
    with ay_po.open("wb") as fh:
        write_po(fh, stripped)
    monkeypatch.setattr(catalogs, "LOCALES_DIR", locales)
    problems = catalogs.check()
    assert any("Plural-Forms" in p for p in problems)


def test_check_catches_missing_fuzzy_and_broken_placeholders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales)
    ay_po = locales / "ay" / "LC_MESSAGES" / "messages.po"
    text = ay_po.read_text(encoding="utf-8")
    text = text.replace('"Zona {zone}. Jakhuma', '"Zona {zona}. Jakhuma', 1)
    text = text.replace('msgstr "No borramos nada."', 'msgstr ""', 1)
    text = text.replace('msgstr "Janiw kunas pichsutakiti."', 'msgstr ""', 1)
    ay_po.write_text(text, encoding="utf-8")
    monkeypatch.setattr(catalogs, "LOCALES_DIR", locales)
    problems = "\n".join(catalogs.check())
    assert "placeholders differ" in problems
    assert "missing" in problems


def test_stale_compiled_catalog_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales)
    for mo in locales.rglob("*.mo"):
        mo.unlink()
    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    i18n.forget()
    try:
        assert i18n.t("ay", "No borramos nada.") == "Janiw kunas pichsutakiti."
    finally:
        i18n.forget()


def test_a_catalog_edited_and_compiled_on_disk_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's translator page compiles the catalog in one process: the others (web
    workers, the worker sending broadcasts) must speak the new text without a restart."""
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, locales)
    monkeypatch.setattr(i18n, "LOCALES_DIR", locales)
    monkeypatch.setattr(catalogs, "LOCALES_DIR", locales)
    monkeypatch.setattr(i18n, "RECHECK_SECONDS", 3600.0)
    i18n.forget()
    try:
        assert i18n.t("ay", "No borramos nada.") == "Janiw kunas pichsutakiti."
        ay = catalogs.load("ay")
        ay["No borramos nada."].string = "Janiw kunas pichsktti."
        catalogs.save("ay", ay)
        catalogs.compile_all()
        # Within the recheck interval the files are not looked at...
        assert i18n.t("ay", "No borramos nada.") == "Janiw kunas pichsutakiti."
        # ...after it, the change is seen.
        monkeypatch.setattr(i18n, "RECHECK_SECONDS", 0.0)
        assert i18n.t("ay", "No borramos nada.") == "Janiw kunas pichsktti."
        assert i18n.t("es", "No borramos nada.") == "No borramos nada."
    finally:
        i18n.forget()


def test_every_placeholder_has_a_realistic_sample() -> None:
    """A placeholder without a sample would be costed with a 4-character stand-in."""
    assert smscost.missing_samples() == set()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_fits_one_sms_with_realistic_values(lang: str) -> None:
    too_long = []
    for msgid in catalogs.extract():
        values = smscost.sample_values(msgid, lambda m: i18n.t(lang, m))
        text = render(i18n.t(lang, msgid, values), "sms")
        if segments(text) > 1 or not is_gsm7(text):
            too_long.append((segments(text), text))
    assert too_long == []
