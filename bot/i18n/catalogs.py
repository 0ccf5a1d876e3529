"""Catalog tooling: extract, update, compile and check the catalogs.

The translators' review CSV is in bot.i18n.review, the SMS cost table in bot.i18n.cost.

Spanish is the source language: the msgids in the code are Spanish and the es catalog carries the
text residents see (normally the msgid itself). Aymara (ay) is a full catalog whose every entry
awaits review by a native speaker. Babel's own `pybabel update` is not used to merge: it drops the
Plural-Forms header of a locale CLDR does not know, so :func:`update` merges itself and
:func:`save` writes the header.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import functools
import io
import os
import re
import string
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import unescape, write_po
from babel.util import pathmatch

from bot.i18n import DOMAIN, LANGUAGES, LOCALES_DIR, compile_catalog, glossary, read_catalog

ROOT = Path(__file__).parent.parent  # bot/
REPO = ROOT.parent
BABEL_CFG = REPO / "babel.cfg"
AY_PLURAL = "nplurals=1; plural=0;"
KEYWORDS = {"N_": None}
COMMENT_TAGS = ("Translators:",)

DRAFT_COMMENT = "review: draft, awaits a native speaker"
REVIEWED_COMMENT = "review: reviewed by a native speaker"


# --- extraction ------------------------------------------------------------------------------


@dataclass
class Extracted:
    msgid: str
    locations: list[str] = field(default_factory=list)  # "bot/flows/menu.py:9"
    comments: list[str] = field(default_factory=list)  # "# Translators: ..." in the code


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, Any]]]:
    """babel.cfg's mapping (so `pybabel extract -F babel.cfg` sees the same files)."""
    if BABEL_CFG.exists():
        with BABEL_CFG.open(encoding="utf-8") as fh:
            method_map, options_map = parse_mapping_cfg(fh, str(BABEL_CFG))
        return list(method_map), dict(options_map)
    return [("bot/**.py", "python")], {}


def _only_bot(dirpath: str) -> bool:
    path = Path(dirpath)
    return (path == REPO or path.is_relative_to(ROOT)) and not path.name.startswith((".", "_"))


def _file_stamp(path: str | Path) -> tuple[int, int, int]:
    """(inode, mtime, size) of a file, zeros when it is missing: a file replaced by an atomic
    write gets a new inode even when the clock has not moved on."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def source_stamp() -> tuple[object, ...]:
    """The files extraction reads (babel.cfg's patterns under bot/), each with its stamp: it
    changes when one of them is edited, added or removed. About a hundred stat() calls."""
    method_map, _options = _mapping()
    patterns = tuple(pattern for pattern, _method in method_map)
    root = str(REPO)
    found: list[object] = [root, _file_stamp(BABEL_CFG)]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if _only_bot(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            relative = path[len(root) + 1 :].replace(os.sep, "/")
            if _mapped(patterns, relative):
                found.append((relative, _file_stamp(path)))
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def _mapped(patterns: tuple[str, ...], relative: str) -> bool:
    return any(pathmatch(pattern, relative) for pattern in patterns)


# The last extraction and the source_stamp() taken before it: extracting reads and tokenizes
# every file under bot/ (most of a second), and the translators' page and every edit need it.
_extracted: tuple[tuple[object, ...], list[Extracted]] | None = None


def extract_messages() -> list[Extracted]:
    """Every message marked with N_() in bot/, in file order, with where it is used.

    Read again only when a source file has changed since the last extraction (the stamp is
    taken before reading, so a file changed meanwhile is read again next time)."""
    global _extracted
    stamp = source_stamp()
    if _extracted is None or _extracted[0] != stamp:
        _extracted = (stamp, _extract_messages())
    return [Extracted(m.msgid, list(m.locations), list(m.comments)) for m in _extracted[1]]


def _extract_messages() -> list[Extracted]:
    method_map, options_map = _mapping()
    found: dict[str, Extracted] = {}
    for filename, lineno, message, comments, _context in extract_from_dir(
        str(REPO),
        method_map=method_map,
        options_map=options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
        directory_filter=_only_bot,
    ):
        if isinstance(message, str) and message:
            entry = found.setdefault(message, Extracted(message))
            entry.locations.append(f"{Path(filename).as_posix()}:{lineno}")
            entry.comments.extend(c for c in comments if c not in entry.comments)
    return list(found.values())


def extract() -> dict[str, list[str]]:
    """msgid -> where it is used ("bot/flows/menu.py:9"), in file order."""
    return {m.msgid: m.locations for m in extract_messages()}


def po_locations(where: Iterable[str]) -> list[tuple[str, int]]:
    return [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where]


def pot_path() -> Path:
    return LOCALES_DIR / f"{DOMAIN}.pot"


POT_HEADER = (
    "# Mi Barrio message template: generated by `mibarrio i18n extract`, do not edit.\n"
    "# Spanish is the source language; translations live in {es,ay}/LC_MESSAGES/messages.po.\n"
    'msgid ""\n'
    'msgstr ""\n'
    '"Project-Id-Version: Mi Barrio\\n"\n'
    '"MIME-Version: 1.0\\n"\n'
    '"Content-Type: text/plain; charset=utf-8\\n"\n'
    '"Content-Transfer-Encoding: 8bit\\n"\n\n'
)


def write_pot(path: Path | None = None) -> tuple[Path, int]:
    """Write the message template (no dates in it, so it only changes when messages do)."""
    path = path or pot_path()
    template = Catalog(locale=None, domain=DOMAIN)
    messages = extract_messages()
    for m in messages:
        template.add(m.msgid, "", locations=po_locations(m.locations), auto_comments=m.comments)
    buf = io.BytesIO()
    write_po(buf, template, width=100, omit_header=True)
    _write_atomic(path, POT_HEADER + buf.getvalue().decode("utf-8").lstrip())
    return path, len(messages)


# --- catalogs on disk ------------------------------------------------------------------------


def po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_stamp(lang: str) -> tuple[str, tuple[int, int, int]]:
    """The .po file of a language and its stamp: changes with every save() (a new file)."""
    path = po_path(lang)
    return (str(path), _file_stamp(path))


def load(lang: str) -> Catalog:
    """A catalog with its fuzzy entries' previous msgids (Babel's reader drops ``#|`` lines)."""
    path = po_path(lang)
    catalog = read_catalog(path)
    for msgid, previous in _previous_ids(path.read_text(encoding="utf-8")).items():
        message = catalog.get(msgid)
        if message is not None:
            message.previous_id = [previous]
    return catalog


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _previous_ids(text: str) -> dict[str, str]:
    """msgid -> previous msgid, from the ``#| msgid`` comments Babel writes but does not read.

    Babel wraps a long previous msgid like a comment, breaking lines at spaces: the lines are
    joined with one space again before the quoted strings are read.
    """
    found: dict[str, str] = {}
    for block in re.split(r"\n[ \t]*\n", text):
        previous: list[str] = []
        msgid: list[str] = []
        state = None
        for line in block.splitlines():
            if line.startswith("#| "):
                previous.append(line[3:])
            elif line.startswith("msgid "):
                state = "msgid"
                msgid.append(line[6:])
            elif line.startswith('"') and state == "msgid":
                msgid.append(line)
            else:
                state = None
        joined = " ".join(previous)
        if joined.startswith("msgid ") and msgid:
            key = "".join(unescape(q) for q in _QUOTED.findall(" ".join(msgid)))
            found[key] = "".join(unescape(q) for q in _QUOTED.findall(joined[6:]))
    return found


@contextlib.contextmanager
def editing() -> Iterator[None]:
    """Hold the catalogs for a read-change-write: two editors at once (the console's
    translators, an import-review) would otherwise each write over the other's change."""
    fd = os.open(LOCALES_DIR, os.O_RDONLY)  # a directory's lock: the files are replaced
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def compile_all() -> list[Path]:
    written = []
    for lang in LANGUAGES:
        mo = po_path(lang).with_suffix(".mo")
        mo.write_bytes(compile_catalog(po_path(lang)))
        written.append(mo)
    return written


HEADERS = {
    "es": (
        "# Spanish (Bolivia) messages for Mi Barrio; Spanish is the source language.",
        "nplurals=2; plural=(n != 1);",
    ),
    "ay": (
        "# Aymara messages for Mi Barrio. AWAITS REVIEW by a native speaker: every entry is a\n"
        "# draft (docs/aymara-glossary.md has the terms, their sources and confidence).",
        AY_PLURAL,
    ),
}


def header(lang: str) -> str:
    """The catalog header, written by us: Babel would drop Plural-Forms for Aymara."""
    comment, plural = HEADERS[lang]
    lines = [
        comment,
        "# Placeholders in braces ({zone}) must stay exactly as in the msgid.",
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: Mi Barrio\\n"',
        f'"Language: {lang}\\n"',
        f'"Plural-Forms: {plural}\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=utf-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
    ]
    if lang == "ay":
        lines.append('"X-Review-Status: awaits review by a native Aymara speaker\\n"')
    return "\n".join(lines) + "\n\n"


def _write_atomic(path: Path, text: str) -> None:
    """Replace a file in one step, so nobody (the app, a colleague's editor) reads half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(lang: str, catalog: Catalog) -> None:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=True, include_previous=True)
    _write_atomic(po_path(lang), header(lang) + buf.getvalue().decode("utf-8").lstrip())


# --- check -----------------------------------------------------------------------------------


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@dataclass(frozen=True)
class PlaceholderDiff:
    """How a text's {placeholders} differ from its msgid's (`broken`: unreadable braces)."""

    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    broken: str | None = None


def placeholder_diff(msgid: str, text: str) -> PlaceholderDiff | None:
    """None when the text has exactly the msgid's placeholders."""
    try:
        found = placeholders(text)
    except ValueError as exc:
        return PlaceholderDiff(broken=str(exc))
    wanted = placeholders(msgid)
    if found == wanted:
        return None
    return PlaceholderDiff(tuple(sorted(wanted - found)), tuple(sorted(found - wanted)))


def placeholder_problem(msgid: str, text: str) -> str | None:
    diff = placeholder_diff(msgid, text)
    if diff is None:
        return None
    if diff.broken is not None:
        return f"broken braces ({diff.broken}); write placeholders as {{name}}"
    lost = ", ".join(f"{{{n}}}" for n in diff.missing)
    extra = ", ".join(f"{{{n}}}" for n in diff.unknown)
    parts = ([f"missing {lost}"] if lost else []) + ([f"unknown {extra}"] if extra else [])
    return "placeholders differ: " + "; ".join(parts)


def text_for(catalog: Catalog, msgid: str) -> str:
    """The catalog's text for msgid; the msgid itself (the Spanish) where it has none."""
    message = catalog.get(msgid)
    return str(message.string) if message is not None and message.string else msgid


def translator(catalog: Catalog) -> Callable[[str], str]:
    """msgid -> text_for(catalog, msgid), to render labels inside other messages."""
    return functools.partial(text_for, catalog)


def check() -> list[str]:
    """Problems that would show a resident a wrong or missing text; empty when all is well."""
    problems: list[str] = []
    wanted = extract()
    catalogs = {lang: load(lang) for lang in LANGUAGES}
    for lang, catalog in catalogs.items():
        if lang == "ay":
            header_value = (
                dict(catalog.mime_headers).get("Plural-Forms", "") if catalog._num_plurals else ""
            )
            if AY_PLURAL not in header_value.replace("  ", " "):
                problems.append(
                    f"ay: Plural-Forms header must be {AY_PLURAL!r}, found {header_value!r}"
                )
        for msgid, where in wanted.items():
            message = catalog.get(msgid)
            label = f"{lang}: {msgid[:50]!r} ({where[0]})"
            if message is None or not message.string:
                problems.append(f"{label}: missing")
                continue
            if message.fuzzy:
                was = ""
                if message.previous_id:
                    was = f" (the Spanish was {message.previous_id[0][:50]!r})"
                problems.append(f"{label}: fuzzy, needs review{was}")
                continue
            wrong = placeholder_problem(msgid, str(message.string))
            if wrong:
                problems.append(f"{label}: {wrong}")
            if lang == "ay":
                spanish = text_for(catalogs["es"], msgid)
                for problem in glossary.problems(msgid, spanish, str(message.string)):
                    problems.append(f"{label}: {problem}")
        for message in catalog:
            if message.id and message.id not in wanted:
                problems.append(
                    f"{lang}: {str(message.id)[:50]!r} is no longer used (mibarrio i18n update)"
                )
    problems.extend(glossary.stale_exemptions(set(wanted)))
    return problems


# --- update ----------------------------------------------------------------------------------


@dataclass
class UpdateResult:
    added: dict[str, int] = field(default_factory=dict)
    fuzzy: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


def _closest(msgid: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(msgid, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def update(*, drop_unused: bool = True) -> UpdateResult:
    """Merge the ids found in the code into both catalogs.

    Spanish is the source language: a new id gets itself as its Spanish text. In Aymara a new id
    whose Spanish was changed (the old id is gone and a close one appears) keeps the old
    translation, marked fuzzy with the previous Spanish (``#| msgid``), so `check` fails until a
    translator looks at it; a truly new id gets an empty entry (reported as missing). The Aymara
    Plural-Forms header is kept (pybabel update would drop it for a locale CLDR does not know).
    """
    wanted = {m.msgid: m for m in extract_messages()}
    result = UpdateResult()
    for lang in LANGUAGES:
        catalog = load(lang)
        gone = [str(m.id) for m in catalog if m.id and m.id not in wanted]
        added = fuzzy = 0
        for msgid, extracted in wanted.items():
            locations = po_locations(extracted.locations)
            message = catalog.get(msgid)
            if message is not None:
                message.locations = locations
                message.auto_comments = list(extracted.comments)
                continue
            if lang == "es":
                catalog.add(msgid, msgid, locations=locations, auto_comments=extracted.comments)
                added += 1
                continue
            previous = _closest(msgid, gone)
            old = catalog.get(previous) if previous else None
            if previous is not None and old is not None and old.string:
                catalog.add(
                    msgid,
                    old.string,
                    locations=locations,
                    flags=["fuzzy"],
                    auto_comments=extracted.comments,
                    user_comments=[DRAFT_COMMENT],
                    previous_id=previous,
                )
                fuzzy += 1
            else:
                catalog.add(
                    msgid,
                    "",
                    locations=locations,
                    auto_comments=extracted.comments,
                    user_comments=[DRAFT_COMMENT],
                )
                added += 1
        if drop_unused:
            for msgid in gone:
                del catalog[msgid]
        save(lang, catalog)
        result.added[lang] = added
        result.fuzzy[lang] = fuzzy
        result.dropped[lang] = len(gone) if drop_unused else 0
    return result
