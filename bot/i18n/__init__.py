"""Catalogs per language and message rendering (the keywords residents type: bot.i18n.keywords).

The resident's language is stored per resident and passed in explicitly: never taken from a
request header. CLDR knows nothing of Aymara, so catalogs are loaded with
babel.support.Translations directly, which gettext is happy with for any language code.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent.parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("es", "ay")
DEFAULT_LANGUAGE = "es"


def N_(msgid: str) -> str:
    """Mark a message for extraction; it is translated when rendered, in the resident's language."""
    return msgid


def _paths(lang: str) -> tuple[Path, Path]:
    base = LOCALES_DIR / lang / "LC_MESSAGES"
    return base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"


class _KeepPluralCatalog(Catalog):
    """A catalog that keeps its Plural-Forms header even for a locale CLDR does not know.

    Babel rebuilds the header from CLDR and, for Aymara, silently drops Plural-Forms: gettext
    would then fall back to English rules (n != 1) instead of Aymara's nplurals=1.
    """

    @property  # type: ignore[override]
    def mime_headers(self) -> list[tuple[str, str]]:
        headers = list(Catalog.mime_headers.fget(self))  # type: ignore[attr-defined,misc]
        if self._num_plurals is not None and not any(k == "Plural-Forms" for k, _ in headers):
            headers.append(("Plural-Forms", self.plural_forms))
        return headers

    @mime_headers.setter
    def mime_headers(self, headers: Iterable[tuple[str, str]]) -> None:
        Catalog.mime_headers.fset(self, headers)  # type: ignore[attr-defined,misc]


def read_catalog(po_path: Path) -> Catalog:
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=None, domain=DOMAIN)
    catalog.__class__ = _KeepPluralCatalog
    return catalog


def compile_catalog(po_path: Path) -> bytes:
    """The .mo bytes for a .po file, Plural-Forms header included."""
    buf = io.BytesIO()
    write_mo(buf, read_catalog(po_path))
    return buf.getvalue()


# How often a process looks at the catalog files again: the console's translator page edits
# and compiles them, and every web and worker process should speak the new text soon after.
RECHECK_SECONDS = 2.0


@dataclass
class _Loaded:
    stamp: tuple[int, int]  # the .po and .mo modification times (0: no such file)
    checked: float  # time.monotonic() of the last look at the files
    translations: Translations


_loaded: dict[str, _Loaded] = {}


def _stamp(lang: str) -> tuple[int, int]:
    po_path, mo_path = _paths(lang)
    return (_mtime(po_path), _mtime(mo_path))


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _read(lang: str) -> Translations:
    """The compiled catalog, or the .po compiled in memory when the .mo is missing or stale."""
    po_path, mo_path = _paths(lang)
    if mo_path.exists() and (
        not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime
    ):
        with mo_path.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    if not po_path.exists():
        raise LookupError(f"no catalog for language {lang!r} under {LOCALES_DIR}")
    return Translations(io.BytesIO(compile_catalog(po_path)), domain=DOMAIN)


def translations(lang: str) -> Translations:
    """The catalog for a language, read again when its files have changed on disk (looked at
    no more than every RECHECK_SECONDS, so rendering a message costs no system call)."""
    now = time.monotonic()
    found = _loaded.get(lang)
    if found is not None and now - found.checked < RECHECK_SECONDS:
        return found.translations
    stamp = _stamp(lang)
    if found is not None and found.stamp == stamp:
        found.checked = now
        return found.translations
    loaded = _read(lang)
    _loaded[lang] = _Loaded(stamp, now, loaded)
    return loaded


def forget() -> None:
    """Read every catalog again at its next use (after compiling, or in tests)."""
    _loaded.clear()


def in_language(lang: str | None, es: str, ay: str | None) -> str:
    """Content written in both languages (a poll, a news item): the Aymara text for Aymara
    readers when there is one, else the Spanish."""
    return ay if lang == "ay" and ay else es


def t(lang: str | None, msgid: str, vars: Mapping[str, Any] | None = None, **kw: Any) -> str:
    """Render msgid in lang with {placeholders} filled in."""
    text = translations(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).gettext(msgid)
    values = {**(vars or {}), **kw}
    return text.format(**values) if values else text
