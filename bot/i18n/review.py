"""The translators' review CSV: export every message with its context, import the edits back.

A row carries the Spanish and Aymara texts, their SMS segments, where the message is shown (found
by reading the code), the glossary's notes and the review status kept in the Aymara catalog.
"""

from __future__ import annotations

import ast
import csv
import functools
import hashlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from babel.messages.catalog import Message

from bot import channels
from bot.i18n import glossary
from bot.i18n.catalogs import (
    DRAFT_COMMENT,
    REPO,
    REVIEWED_COMMENT,
    ROOT,
    PlaceholderDiff,
    editing,
    extract,
    extract_messages,
    load,
    placeholder_diff,
    placeholder_problem,
    placeholders,
    po_locations,
    save,
    text_for,
    translator,
)
from bot.i18n.cost import render_sample

# --- where a message is shown (for translators) ----------------------------------------------


@dataclass
class _Site:
    start: int
    end: int
    label: str  # "MENU", "CATEGORY_LABELS['agua']", or "" for an inline N_() call
    constant: str | None
    function: str | None  # the function an inline N_() call sits in


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def _is_n(node: ast.AST) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"


def _sites(tree: ast.Module) -> list[_Site]:
    sites: list[_Site] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):  # NAME = N_(...), NAME = {k: N_(...)}
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            name = target.id if isinstance(target, ast.Name) else None
            value = stmt.value
            if value is None:
                continue
            keys: dict[int, str] = {}
            if isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values, strict=True):
                    if isinstance(key, ast.Constant):
                        keys[id(item)] = repr(key.value)
            for node in ast.walk(value):
                if _is_n(node):
                    label = f"{name}[{keys[id(node)]}]" if id(node) in keys else (name or "")
                    sites.append(
                        _Site(node.lineno, node.end_lineno or node.lineno, label, name, None)
                    )
        elif isinstance(stmt, ast.FunctionDef | ast.ClassDef):
            for node in ast.walk(stmt):
                if _is_n(node):
                    sites.append(
                        _Site(node.lineno, node.end_lineno or node.lineno, "", None, stmt.name)
                    )
    return sites


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    found = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            found.append(stmt)
        elif isinstance(stmt, ast.ClassDef):
            found.extend(s for s in stmt.body if isinstance(s, ast.FunctionDef))
    return found


def _aliases(tree: ast.Module, modules: set[str]) -> dict[str, tuple[str, str | None]]:
    """Local name -> (module, attribute) for imports; attribute None when it is a module."""
    names: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                local = alias.asname or alias.name
                names[local] = (full, None) if full in modules else (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = (alias.name, None)
    return names


def where_shown() -> dict[str, str]:
    """'bot/flows/reports.py:26' -> 'SUMMARY, flow reports: on_place()' for every N_() site."""
    trees = {}
    for path in sorted(p for d in (ROOT, REPO / "worker") for p in d.rglob("*.py")):
        try:
            trees[_module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8")))
        except SyntaxError:
            continue
    modules = set(trees)
    # (defining module, constant) -> functions that use it, as "module.function"
    users: dict[tuple[str, str], set[str]] = {}
    for module, (_path, tree) in trees.items():
        aliases = _aliases(tree, modules)
        for func in _functions(tree):
            for node in ast.walk(func):
                ref: tuple[str, str] | None = None
                if isinstance(node, ast.Name):
                    target = aliases.get(node.id)
                    if target and target[1]:
                        ref = (target[0], target[1])
                    else:
                        ref = (module, node.id)
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    target = aliases.get(node.value.id)
                    if target and target[1] is None:
                        ref = (target[0], node.attr)
                if ref:
                    users.setdefault(ref, set()).add(f"{module.rsplit('.', 1)[-1]}.{func.name}")
    result: dict[str, str] = {}
    for module, (path, tree) in trees.items():
        rel = path.relative_to(REPO).as_posix()
        area = f"flow {path.stem}" if module.startswith("bot.flows.") else f"{path.stem}.py"
        for site in _sites(tree):
            if site.function:
                shown = f"{area}: {site.function}()"
            else:
                by = sorted(users.get((module, site.constant or ""), set()))
                shown = f"{site.label}, {area}" + (
                    ": " + ", ".join(f"{u}()" for u in by) if by else ""
                )
            for line in range(site.start, site.end + 1):
                result.setdefault(f"{rel}:{line}", shown)
    return result


def context_of(locations: list[str], shown: dict[str, str]) -> str:
    return " | ".join(f"{loc} {shown[loc]}" if loc in shown else loc for loc in locations)


# --- the translators' review CSV -------------------------------------------------------------

COLUMNS = (
    "msgid",
    "es",
    "ay",
    "es_segments",
    "ay_segments",
    "context",
    "glossary_notes",
    "status",
)
STATUSES = ("missing", "needs review", "draft", "reviewed")


def _status(message: Message | None) -> str:
    if message is None or not message.string:
        return "missing"
    if message.fuzzy:
        return "needs review"
    if REVIEWED_COMMENT in message.user_comments:
        return "reviewed"
    return "draft"


# The glossary is code: a Spanish text's notes only change with the text (half the rows' time).
_glossary_notes = functools.lru_cache(maxsize=4096)(glossary.notes)


def review_rows(shown: dict[str, str] | None = None) -> list[dict[str, str]]:
    """One row per message; `shown`: where_shown(), when the caller keeps it (it reads the
    whole code, which does not change while the app runs)."""
    es, ay = load("es"), load("ay")
    shown = where_shown() if shown is None else shown
    es_t, ay_t = translator(es), translator(ay)
    rows = []
    for m in extract_messages():
        es_text = text_for(es, m.msgid)
        ay_message = ay.get(m.msgid)
        ay_text = str(ay_message.string) if ay_message is not None and ay_message.string else ""
        context = context_of(m.locations, shown)
        if m.comments:
            context += " | note: " + " ".join(m.comments)
        if ay_message is not None and ay_message.fuzzy and ay_message.previous_id:
            context += f" | the Spanish was: {ay_message.previous_id[0]}"
        rows.append(
            {
                "msgid": m.msgid,
                "es": es_text,
                "ay": ay_text,
                "es_segments": str(channels.segments(render_sample(m.msgid, es_text, es_t))),
                "ay_segments": str(channels.segments(render_sample(m.msgid, ay_text, ay_t)))
                if ay_text
                else "",
                "context": context,
                "glossary_notes": _glossary_notes(es_text, m.msgid),
                "status": _status(ay_message),
            }
        )
    return rows


def export_review(path: Path) -> int:
    """Write the review CSV (UTF-8 with a BOM, so spreadsheet programs keep the accents)."""
    rows = review_rows()
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u00b4\u2032", "'"))


def _clean(text: str) -> str:
    """What a spreadsheet or phone keyboard adds: curly apostrophes, CRLF, edge spaces."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.translate(_APOSTROPHES).strip()


@dataclass
class ImportResult:
    changed: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ReviewFileError(ValueError):
    """The CSV as a whole cannot be read (wrong columns, not CSV)."""


@dataclass(frozen=True)
class Refusal:
    """Why an edit of one message was refused; str() is what the CLI prints."""

    reason: str  # "unknown", "status", "empty", "placeholders"
    lang: str | None = None
    placeholders: PlaceholderDiff | None = None
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class Edit:
    """One message's edit as the review decides it: refused, or the texts and status before
    and after (equal when nothing changes), and what is worth a second look."""

    msgid: str
    refused: list[Refusal] = field(default_factory=list)
    before: dict[str, str] = field(default_factory=dict)  # es, ay, status
    after: dict[str, str] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)  # language -> SMS, realistic values
    glossary: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return not self.refused and self.before != self.after

    def warnings(self) -> list[str]:
        costly = [
            f"{lang} costs {cost} SMS with realistic values"
            for lang, cost in self.segments.items()
            if cost > 1
        ]
        return costly + self.glossary


def message_key(msgid: str) -> str:
    """A short, stable name for a message (in addresses and the audit log): its msgid hashed."""
    return hashlib.sha256(msgid.encode("utf-8")).hexdigest()[:16]


class Review:
    """The es and ay catalogs and the code's messages, loaded once for a batch of edits.

    `apply` decides each edit the way the review CSV is imported (the rules are in
    import_review's docstring) and changes the catalogs in memory; `save` writes them. Hold
    catalogs.editing() from the load to the save when others may edit at the same time.
    """

    def __init__(self) -> None:
        self.wanted = extract()
        self.es, self.ay = load("es"), load("ay")
        self._translate = {"es": translator(self.es), "ay": translator(self.ay)}

    def current(self, msgid: str) -> dict[str, str]:
        """The texts and status a message has now."""
        ay_message = self.ay.get(msgid)
        return {
            "es": text_for(self.es, msgid),
            "ay": str(ay_message.string) if ay_message is not None and ay_message.string else "",
            "status": _status(ay_message),
        }

    def apply(self, msgid: str, es: str, ay: str, status: str) -> Edit:
        if msgid not in self.wanted:
            text = "unknown msgid (not in the code any more?); export a fresh file"
            return Edit(msgid, refused=[Refusal("unknown", text=text)])
        new_es, new_ay = _clean(es), _clean(ay)
        status = status.strip().lower() or "draft"
        before = self.current(msgid)
        old_es, old_ay, old_status = before["es"], before["ay"], before["status"]
        edit = Edit(msgid, before=before)
        if status not in STATUSES:
            text = f"status {status!r} is not one of {', '.join(STATUSES)}"
            edit.refused.append(Refusal("status", text=text))
        if not new_es:
            edit.refused.append(Refusal("empty", "es", text="es is empty"))
        if not new_ay and old_ay:
            text = "ay is empty; keep the old text or write a new one"
            edit.refused.append(Refusal("empty", "ay", text=text))
        for lang, new in (("es", new_es), ("ay", new_ay)):
            diff = placeholder_diff(msgid, new) if new else None
            if diff is not None:
                wrong = placeholder_problem(msgid, new)
                text = f"{lang}: {wrong} (the msgid has {_braces(msgid)})"
                edit.refused.append(Refusal("placeholders", lang, diff, text))
        if edit.refused:
            return edit
        es_changed = new_es != old_es
        ay_changed = new_ay != old_ay
        if ay_changed and status == old_status == "needs review":
            status = "draft"  # the translator rewrote it after the Spanish changed: reviewed
        if es_changed and not ay_changed and status == old_status and old_ay:
            status = "needs review"
        if not new_ay:
            status = "missing"
        elif status == "missing":
            status = "draft"
        edit.after = {"es": new_es, "ay": new_ay, "status": status}
        if not edit.changed:
            return edit
        wanted = self.wanted[msgid]
        if es_changed:
            es_message = self.es.get(msgid)
            if es_message is None:
                self.es.add(msgid, new_es, locations=po_locations(wanted))
            else:
                es_message.string = new_es
        if new_ay:
            ay_message = self.ay.get(msgid)
            if ay_message is None:
                ay_message = self.ay.add(msgid, new_ay, locations=po_locations(wanted))
            _set_status(ay_message, status, previous=old_es if es_changed else None)
            ay_message.string = new_ay
        for lang, new in (("es", new_es), ("ay", new_ay)):
            if new:
                sample = render_sample(msgid, new, self._translate[lang])
                edit.segments[lang] = channels.segments(sample)
        if new_ay and status != "needs review":
            edit.glossary = glossary.problems(msgid, new_es, new_ay)
        return edit

    def save(self) -> None:
        save("es", self.es)
        save("ay", self.ay)


def import_review(path: Path, *, dry_run: bool = False) -> ImportResult:
    """Merge a review CSV back: each row's es, ay and status.

    A row is refused (and nothing of it written) when its msgid is unknown, a text loses or
    invents a {placeholder}, a text is emptied, the status is not one of STATUSES, or the msgid
    appears twice. Accepted rows are written even when others are refused. Rows whose Spanish
    changed while their Aymara and status did not get the Aymara marked fuzzy (needs review),
    the old Spanish kept as its previous msgid. A "needs review" row clears when its status is
    set to draft or reviewed, or when its Aymara is rewritten.
    """
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("msgid", "es", "ay", "status") if c not in (reader.fieldnames or [])]
        if missing:
            raise ReviewFileError(
                f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
            )
        rows = list(reader)
    result = ImportResult()
    seen: set[str] = set()
    with editing():
        review = Review()
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            msgid = row.get("msgid") or ""
            where = f"row {number} ({msgid[:40]!r})"
            if msgid in seen:
                result.refused.append(f"{where}: this msgid appears twice; keep one row")
                continue
            seen.add(msgid)
            edit = review.apply(
                msgid, row.get("es") or "", row.get("ay") or "", row.get("status") or ""
            )
            if edit.refused:
                result.refused.append(f"{where}: " + "; ".join(map(str, edit.refused)))
            elif edit.changed:
                result.warnings.extend(f"{where}: {warning}" for warning in edit.warnings())
                result.changed += 1
            else:
                result.unchanged += 1
        if result.changed and not dry_run:
            review.save()
    return result


def _braces(msgid: str) -> str:
    names = sorted(placeholders(msgid))
    return ", ".join(f"{{{n}}}" for n in names) if names else "no placeholders"


def _set_status(message: Message, status: str, previous: str | None) -> None:
    comments = [c for c in message.user_comments if not c.startswith("review:")]
    comments.insert(0, REVIEWED_COMMENT if status == "reviewed" else DRAFT_COMMENT)
    message.user_comments = comments
    if status == "needs review":
        message.flags.add("fuzzy")
        if previous is not None:
            message.previous_id = [previous]
    else:
        message.flags.discard("fuzzy")
        message.previous_id = []
