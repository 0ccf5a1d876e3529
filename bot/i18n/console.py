"""The staff console's catalog: gettext domain "console", Spanish only.

Staff read the console in Spanish; residents' texts are the "messages" domain (es and ay, one
SMS each, bot.i18n.catalogs). Keeping the two apart keeps the console's hundreds of labels out
of the translators' review and the SMS checks. Here the msgids are the Spanish and the catalog
(bot/locales/es/LC_MESSAGES/console.po) normally repeats them: it is the one place to reword a
label. Extraction follows babel-console.cfg (the console's templates and Python), so a new page
whose template says {{ _("...") }} is picked up by `mibarrio i18n update` with no code change.
A text missing from the catalog shows its msgid, the Spanish, so nothing breaks meanwhile.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import LazyProxy, Translations

from bot.i18n import catalogs

DOMAIN = "console"
LANG = "es"
REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "babel-console.cfg"
# _ in templates and views; _l for texts fixed at import (form labels); ngettext for plurals.
# gettext_noop: marked here, translated where it is shown (Flask-Login's message).
KEYWORDS: dict[str, Any] = {
    "_": None,
    "gettext": None,
    "_l": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
}
RECHECK_SECONDS = 2.0

HEADER = (
    "# Texts of the staff console (Spanish only). The msgid is the Spanish as the code has it;\n"
    "# change a msgstr to reword what staff read; placeholders ({name}, %(name)s) stay as is.\n"
    "# `mibarrio i18n update` adds new texts from bot/admin (babel-console.cfg).\n"
    'msgid ""\n'
    'msgstr ""\n'
    '"Project-Id-Version: Mi Barrio console\\n"\n'
    '"Language: es\\n"\n'
    '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
    '"MIME-Version: 1.0\\n"\n'
    '"Content-Type: text/plain; charset=utf-8\\n"\n'
    '"Content-Transfer-Encoding: 8bit\\n"\n\n'
)

Msgid = str | tuple[str, ...]  # a plural message is (singular, plural)


@dataclass
class Found:
    msgid: Msgid
    locations: list[tuple[str, int]] = field(default_factory=list)


def po_path() -> Path:
    """Beside the residents' catalogs (wherever catalogs.LOCALES_DIR points)."""
    return catalogs.LOCALES_DIR / LANG / "LC_MESSAGES" / f"{DOMAIN}.po"


def pot_path() -> Path:
    return catalogs.LOCALES_DIR / f"{DOMAIN}.pot"


def _only_console(dirpath: str) -> bool:
    path = Path(dirpath)
    return path == REPO or path.is_relative_to(REPO / "bot")


def extract() -> list[Found]:
    """Every console text, in file order, with where it is used."""
    with MAPPING.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(MAPPING))
    found: dict[Msgid, Found] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(REPO),
        method_map=method_map,
        options_map=options_map,
        keywords=KEYWORDS,
        directory_filter=_only_console,
    ):
        msgid: Msgid = tuple(message) if isinstance(message, tuple | list) else message
        if not msgid or (isinstance(msgid, tuple) and not all(msgid)):
            continue
        entry = found.setdefault(msgid, Found(msgid))
        entry.locations.append((Path(filename).as_posix(), lineno))
    return list(found.values())


def _catalog() -> Catalog:
    return Catalog(locale=LANG, domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(HEADER + buf.getvalue().decode("utf-8").lstrip(), encoding="utf-8")
    tmp.replace(path)


def load() -> Catalog:
    path = po_path()
    if not path.exists():
        return _catalog()
    with path.open("rb") as fh:
        return read_po(fh, locale=LANG, domain=DOMAIN)


def write_pot() -> tuple[Path, int]:
    template = _catalog()
    found = extract()
    for entry in found:
        template.add(entry.msgid, "", locations=entry.locations)
    _write(pot_path(), template)
    return pot_path(), len(found)


@dataclass(frozen=True)
class Updated:
    added: int
    dropped: int


def update() -> Updated:
    """Bring the catalog in line with the code: a new text gets its own Spanish, a reworded
    msgstr is kept, a text no longer used goes."""
    wanted = {entry.msgid: entry for entry in extract()}
    catalog = load()
    key = {_key(m.id): m for m in catalog if m.id}
    added = 0
    fresh = _catalog()
    for msgid, entry in wanted.items():
        old = key.get(_key(msgid))
        string: Any = old.string if old is not None and _filled(old.string) else msgid
        added += old is None
        fresh.add(msgid, string, locations=entry.locations)
    dropped = sum(1 for k in key if k not in {_key(m) for m in wanted})
    _write(po_path(), fresh)
    return Updated(added, dropped)


def check() -> list[str]:
    """Console texts the code uses that the catalog lacks (its only check: the console speaks
    Spanish only and a msgid is itself the Spanish)."""
    catalog = load()
    have = {_key(m.id) for m in catalog if m.id and _filled(m.string)}
    return [
        f"console: {str(entry.msgid)[:60]!r} ({entry.locations[0][0]}:{entry.locations[0][1]}): "
        "missing (mibarrio i18n update)"
        for entry in extract()
        if _key(entry.msgid) not in have
    ]


def compile_mo() -> Path:
    mo = po_path().with_suffix(".mo")
    buf = io.BytesIO()
    write_mo(buf, load())
    mo.write_bytes(buf.getvalue())
    return mo


def _key(msgid: Any) -> Msgid:
    return tuple(msgid) if isinstance(msgid, tuple | list) else str(msgid)


def _filled(string: Any) -> bool:
    return all(string) if isinstance(string, tuple | list) else bool(string)


# --- at run time -----------------------------------------------------------------------------


@dataclass
class _Loaded:
    stamp: tuple[int, int]
    checked: float
    translations: Translations


_loaded: list[_Loaded] = []


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def translations() -> Translations:
    """The compiled catalog (the .po compiled in memory when the .mo is missing or older),
    looked at again at most every RECHECK_SECONDS; without a catalog, every text is its msgid."""
    now = time.monotonic()
    if _loaded and now - _loaded[0].checked < RECHECK_SECONDS:
        return _loaded[0].translations
    po, mo = po_path(), po_path().with_suffix(".mo")
    stamp = (_mtime(po), _mtime(mo))
    if _loaded and _loaded[0].stamp == stamp:
        _loaded[0].checked = now
        return _loaded[0].translations
    if stamp[1] and stamp[1] >= stamp[0]:
        with mo.open("rb") as fh:
            found = Translations(fh, domain=DOMAIN)
    elif stamp[0]:
        buf = io.BytesIO()
        write_mo(buf, load())
        buf.seek(0)
        found = Translations(buf, domain=DOMAIN)
    else:
        found = Translations(domain=DOMAIN)
    _loaded[:] = [_Loaded(stamp, now, found)]
    return found


def gettext(msgid: str) -> str:
    return str(translations().gettext(msgid))


def ngettext(singular: str, plural: str, n: int) -> str:
    return str(translations().ngettext(singular, plural, n))


def gettext_noop(msgid: str) -> str:
    return msgid


def lazy_gettext(msgid: str) -> Any:
    """A text fixed at import (a form's label) that is looked up each time it is shown."""
    return LazyProxy(gettext, msgid, enable_cache=False)


def forget() -> None:
    _loaded.clear()
