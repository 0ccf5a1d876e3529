"""Catalog tooling: extract message ids from the code, compile, and check the catalogs."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from bot.i18n import DOMAIN, LANGUAGES, LOCALES_DIR, compile_catalog, read_catalog

ROOT = Path(__file__).parent
AY_PLURAL = "nplurals=1; plural=0;"


def extract() -> dict[str, list[str]]:
    """Every message id marked with N_() in bot/, with where it is used."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map=[("**.py", "python")],
        keywords={"N_": None},
    ):
        if isinstance(message, str):
            found.setdefault(message, []).append(f"bot/{filename}:{lineno}")
    return found


def po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(lang: str) -> Catalog:
    return read_catalog(po_path(lang))


def compile_all() -> list[Path]:
    written = []
    for lang in LANGUAGES:
        mo = po_path(lang).with_suffix(".mo")
        mo.write_bytes(compile_catalog(po_path(lang)))
        written.append(mo)
    return written


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def check() -> list[str]:
    """Problems that would show a resident a wrong or missing text; empty when all is well."""
    problems: list[str] = []
    wanted = extract()
    for lang in LANGUAGES:
        catalog = load(lang)
        if lang == "ay":
            header = (
                dict(catalog.mime_headers).get("Plural-Forms", "") if catalog._num_plurals else ""
            )
            if AY_PLURAL not in header.replace("  ", " "):
                problems.append(f"ay: Plural-Forms header must be {AY_PLURAL!r}, found {header!r}")
        for msgid, where in sorted(wanted.items()):
            message = catalog.get(msgid)
            label = f"{lang}: {msgid[:50]!r} ({where[0]})"
            if message is None or not message.string:
                problems.append(f"{label}: missing")
            elif message.fuzzy:
                problems.append(f"{label}: fuzzy")
            elif placeholders(str(message.string)) != placeholders(msgid):
                problems.append(f"{label}: placeholders differ")
        for message in catalog:
            if message.id and message.id not in wanted and not message.obsolete:
                problems.append(f"{lang}: {str(message.id)[:50]!r} is no longer used")
    return problems
