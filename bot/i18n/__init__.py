"""Catalogs per language and message rendering (the keywords residents type: bot.i18n.keywords).

The resident's language is stored per resident and passed in explicitly: never taken from a
request header. CLDR knows nothing of Aymara, so catalogs are loaded with
babel.support.Translations directly, which gettext is happy with for any language code.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping
from functools import cache
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


@cache
def translations(lang: str) -> Translations:
    """The catalog for a language, compiled in memory when the .mo is missing or stale."""
    po_path, mo_path = _paths(lang)
    if mo_path.exists() and (
        not po_path.exists() or mo_path.stat().st_mtime >= po_path.stat().st_mtime
    ):
        with mo_path.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    if not po_path.exists():
        raise LookupError(f"no catalog for language {lang!r} under {LOCALES_DIR}")
    return Translations(io.BytesIO(compile_catalog(po_path)), domain=DOMAIN)


def in_language(lang: str | None, es: str, ay: str | None) -> str:
    """Content written in both languages (a poll, a news item): the Aymara text for Aymara
    readers when there is one, else the Spanish."""
    return ay if lang == "ay" and ay else es


def t(lang: str | None, msgid: str, vars: Mapping[str, Any] | None = None, **kw: Any) -> str:
    """Render msgid in lang with {placeholders} filled in."""
    text = translations(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).gettext(msgid)
    values = {**(vars or {}), **kw}
    return text.format(**values) if values else text
