"""Catalogs per language, message rendering, and the keywords residents may type.

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

from bot.text import bare_words

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
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


# Keywords, written already normalised (see bot.text.normalize): case-folded, accents removed.
# A keyword counts only when it is the whole message, so "Alto Obrajes" is a zona, not ALTO and
# "el agua sale baja" is a report, not BAJA; courtesy words, emoji and a repeated keyword
# around it do not count ("BAJA por favor 🙏", "stop please", "BAJA BAJA": see keyword()).
KEYWORDS: dict[str, frozenset[str]] = {
    # Opt-out always wins. Never "jani"/"janiwa": that is Aymara for "no", a poll answer.
    "optout": frozenset(
        {
            "baja",
            "darme de baja",
            "dar de baja",
            "salir",
            "cancelar",
            "alto",
            "parar",
            "detener",
            "no mas",
            "no mas mensajes",
            "no mas sms",
            "darse de baja",
            "quiero darme de baja",
            "quiero salir",
            "no quiero mas mensajes",
            "no quiero recibir mensajes",
            "no quiero recibir mas mensajes",
            "no me manden mas mensajes",
            "no me envien mas mensajes",
            "basta",
            "desuscribir",
            "desuscribirme",
            "stop",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt out",
            # Aymara "stop" / "leave" (docs/aymara-glossary.md, confidence M: awaits review).
            "sayt'ayana",
            "saytayana",
            "mistuna",
        }
    ),
    # Only meaningful to someone who opted out ("yes" is Twilio's own re-subscribe word).
    "optin": frozenset({"alta", "darme de alta", "iniciar", "start", "unstop", "yes"}),
    "help": frozenset({"ayuda", "info", "help", "yanapa", "yanapana"}),
    "menu": frozenset({"menu", "inicio", "menu principal"}),
    "language": frozenset({"idioma", "language", "aru", "lengua", "cambiar idioma"}),
    "erase": frozenset(
        {"borrar", "borrar mis datos", "eliminar mis datos", "delete", "pichsuna", "pichana"}
    ),
}


# Words that do not change what a keyword asks for: "BAJA por favor", "stop please", "ya basta".
COURTESY = frozenset(
    {"por", "favor", "porfa", "porfavor", "xfa", "please", "pls", "plz", "gracias", "thanks", "ya"}
)


def keyword(normalized_text: str) -> str | None:
    """Which global keyword a (normalised) message is, if any; opt-out is checked first.

    The message as it is, then its bare form: without courtesy words, emoji and punctuation
    around the words, and a keyword repeated ("BAJA BAJA") said once.
    """
    found = _keyword(normalized_text)
    if found is None:
        bare = _bare(normalized_text)
        if bare != normalized_text:
            found = _keyword(bare)
    return found


def _keyword(text: str) -> str | None:
    for name in ("optout", "help", "menu", "language", "erase", "optin"):
        if text in KEYWORDS[name]:
            return name
    return None


def _bare(normalized_text: str) -> str:
    words = [word for word in bare_words(normalized_text) if word not in COURTESY]
    if len(set(words)) == 1:
        words = words[:1]
    return " ".join(words)
