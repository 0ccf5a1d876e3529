"""The Aymara glossary as data: which Aymara form each recurring Spanish concept must use.

docs/aymara-glossary.md explains every choice (sources, confidence, native-speaker review); this
table is the part a machine can check. `mibarrio i18n check` fails when an Aymara translation of a
Spanish text that contains a term does not use the chosen form, or uses a known wrong form, and
`mibarrio i18n export-review` lists the terms of each message for the translator.

Matching: Spanish patterns run on the Spanish text case-folded (accents matter: "sí" is yes, "si"
is if); Aymara patterns on the Aymara text case-folded. Aymara is agglutinative, so a chosen form
is matched as the start of a word ("reporte" matches "reportex", "reportenakama").
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Term:
    concept: str
    es: str  # the Spanish word(s) as the bot uses them
    ay: str  # the chosen Aymara form, as shown to translators
    confidence: str  # H, M or L (docs/aymara-glossary.md, "Confidence levels")
    es_pattern: str  # a Spanish text containing this uses the term
    ay_pattern: str  # ... so its Aymara translation must match this
    avoid: tuple[str, ...] = ()  # known wrong or rejected Aymara forms
    # msgid -> why this message may leave the term out (checked: a stale msgid is reported).
    exempt: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def used_in(self, spanish: str) -> bool:
        return re.search(self.es_pattern, _fold(spanish)) is not None

    def note(self) -> str:
        return f"{self.es} = {self.ay} ({self.confidence})"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


# The Aymara answer words residents type for yes and no (docs/aymara-glossary.md, section 3), in
# their chosen form first. bot/flows/answers.py reads them from here, so the glossary's "yes",
# "no" and "accept" and the words the bot accepts cannot drift apart. Never opt-out words.
AYMARA_YES: tuple[str, ...] = ("jisa", "iyaw", "iyawa")
AYMARA_NO: tuple[str, ...] = ("janiwa", "jani", "janiw")
AYMARA_ACCEPT = "iyaw"

TERMS: tuple[Term, ...] = (
    Term("zona", "zona", "zona", "L", r"\bzonas?\b", r"\bzona", avoid=(r"\bayllu",)),
    Term(
        "report (noun)",
        "reporte",
        "reporte (loanword; yatiyäwi is news)",
        "L",
        r"\breportes?\b",
        r"\breporte",
    ),
    Term(
        "report (verb)",
        "reportar",
        "yatiyaña",
        "M",
        r"\breportar\b",
        r"\byatiya",
        exempt=MappingProxyType(
            {
                "¿Qué problema quiere reportar? 1 Agua, 2 Alumbrado, 3 Basura, 4 Calles y "
                "veredas, 5 Seguridad, 6 Salud, 7 Otro": "asks 'what problem is there?' "
                "(Kuna jan walt'äwis utji?); the menu option already says yatiyaña",
            }
        ),
    ),
    Term(
        "problem",
        "problema",
        "jan walt'äwi",
        "M",
        r"\bproblemas?\b",
        r"\bjan walt'äwi",
        avoid=(r"walt'awi", r"\bpantja"),
    ),
    Term("poll", "encuesta", "encuesta", "L", r"\bencuestas?\b", r"\bencuesta"),
    Term(
        "vote",
        "votar / voto",
        "chimpuntaña / chimpuntäwi",
        "M",
        r"\bvot(?:o|os|ar|e|ó|aron|ación)\b",
        r"\bchimpunt",
        avoid=(r"chimpuntawi", r"\bchhijll"),
    ),
    Term(
        "news",
        "noticias",
        "yatiyäwinaka",
        "M",
        r"\bnoticias?\b",
        r"\byatiyäwi",
        avoid=(r"\byatiyawi",),
    ),
    Term(
        "announcement",
        "anuncios",
        "anuncio (loanword, plural anuncionaka)",
        "L",
        r"\banuncios?\b",
        r"\banuncio",
    ),
    Term("help", "ayuda", "yanapa", "H", r"\bayuda\b", r"\byanapa"),
    Term(
        "menu",
        "menú",
        "MENU (no accent)",
        "L",
        r"\bmen[uú]\b",
        r"\bmenu",
        avoid=(r"menú", r"\bmanq'a"),
    ),
    Term("yes", "sí", AYMARA_YES[0], "H", r"^sí$|\d sí\b", rf"\b{AYMARA_YES[0]}\b"),
    Term(
        "no",
        "no (an answer)",
        AYMARA_NO[0],
        "H",
        r"^no$|\d no\s*(?:$|[/,.;])",
        rf"\b(?:{'|'.join(AYMARA_NO)})\b",
    ),
    Term("accept", "acepto", AYMARA_ACCEPT, "H", r"(?<!no )\bacept[oa]\b", rf"\b{AYMARA_ACCEPT}"),
    Term("water", "agua", "uma", "H", r"\bagua\b", r"\buma"),
    Term(
        "light",
        "alumbrado / luz",
        "qhana (luz)",
        "M",
        r"\balumbrado\b|\bluz\b|\bluces\b",
        r"\bqhana \(luz\)",
    ),
    Term("trash", "basura", "basura", "L", r"\bbasura\b", r"\bbasura"),
    Term("street", "calle", "thakhi", "M", r"\bcalles?\b", r"\bthakhi"),
    Term(
        "security",
        "seguridad",
        "jark'atäña",
        "M",
        r"\bseguridad\b",
        r"\bjark'atäña",
        avoid=(r"\bjark'atana", r"\bjark'aña"),
    ),
    Term("health", "salud", "salud", "L", r"\bsalud\b", r"\bsalud"),
    Term("other", "otro / otra", "yaqha", "H", r"\botr[oa]s?\b", r"\byaqha"),
    Term("none", "ninguna", "ni kuna", "M", r"\bningun[oa]?\b", r"\bni kuna"),
    Term(
        "back",
        "volver",
        "kutt'aña",
        "H",
        r"\bvolv(?:er|amos|emos)\b|\bvuelta\b",
        r"\bkutt'a",
    ),
    Term("language", "idioma", "aru", "H", r"\bidiomas?\b", r"\baru"),
    Term("send", "enviar", "apayaña", "H", r"\benv[ií](?:ar|e|ada|ado|aremos)\b", r"\bapay"),
    Term("write", "escribir", "qillqaña (qillqt'am)", "H", r"\bescr[ií]b", r"\bqillq"),
    Term("name", "nombre", "suti", "H", r"\bnombres?\b", r"\bsuti"),
    Term(
        "erase",
        "borrar",
        "pichsuña",
        "H",
        r"\bborr(?:ar|ado|ados|amos)\b",
        r"\bpichsu",
        avoid=(r"chhaqtay",),
    ),
    Term("data", "datos", "datos", "L", r"\bdatos\b", r"\bdatos"),
    Term("number", "número", "jakhu", "M", r"\bnúmeros?\b", r"\bjakhu"),
    Term(
        "thanks",
        "gracias",
        "yuspagara",
        "M",
        r"\bgracias\b",
        r"\byuspagara",
        avoid=(r"yuspajara",),
    ),
    Term("ok", "listo", "walikiwa", "H", r"\blisto\b", r"\bwaliki"),
    Term("resolved", "resuelto", "tukuyata", "M", r"\bresuelto\b|\bresolvió\b", r"\btukuyata"),
    Term("in progress", "en curso", "phuqhachaskiwa", "M", r"\ben curso\b", r"\bphuqhachaskiwa"),
    Term("received", "recibir / recibido", "katuqata (verb katuqaña)", "M", r"\brecib", r"\bkatuq"),
    Term("neighbour", "vecinos", "markachiri", "M", r"\bvecin[oa]s?\b", r"\bmarkachiri"),
    Term(
        "municipality",
        "Alcaldía",
        "Alcaldía de La Paz (the name) / municipio",
        "L",
        r"\balcaldía\b",
        r"alcaldía de la paz|\bmunicipio",
    ),
    Term("profile", "perfil", "perfil", "L", r"\bperfil\b", r"\bperfil"),
)

# Stored text must use the ASCII apostrophe; ï is not GSM-7 (docs/aymara-glossary.md).
_NOT_STORED = {"\u2019": "’", "\u2018": "‘", "\u02bc": "ʼ", "ï": "ï", "Ï": "Ï"}


def terms_in(spanish: str) -> list[Term]:
    return [term for term in TERMS if term.used_in(spanish)]


def notes(spanish: str, msgid: str = "") -> str:
    """The glossary terms of a Spanish text, for the translator: 'agua = uma (H); ...'."""
    return "; ".join(
        term.note()
        + (f" [not required here: {term.exempt[msgid]}]" if msgid in term.exempt else "")
        for term in terms_in(spanish)
    )


def _digits(text: str) -> Counter[str]:
    """Option numbers and other digits a text shows, outside {placeholders}."""
    literal = "".join(part for part, _, _, _ in string.Formatter().parse(text))
    return Counter(re.findall(r"\d+", literal))


def problems(msgid: str, spanish: str, aymara: str) -> list[str]:
    """Why an Aymara translation does not follow the glossary; empty when it does.

    ``spanish`` is the Spanish text the translation was made from (usually the msgid).
    """
    found: list[str] = []
    ay = _fold(aymara)
    for term in terms_in(spanish):
        if msgid in term.exempt:
            continue
        if re.search(term.ay_pattern, ay) is None:
            found.append(f"glossary: '{term.es}' must be '{term.ay}' in Aymara")
        for wrong in term.avoid:
            match = re.search(wrong, ay)
            if match:
                found.append(
                    f"glossary: '{match.group(0)}' is not the chosen form for '{term.es}' "
                    f"(use '{term.ay}')"
                )
    if _digits(spanish) != _digits(aymara):
        found.append(
            "numbers: the digits differ from the Spanish "
            f"({sorted(_digits(spanish).elements())} vs {sorted(_digits(aymara).elements())})"
        )
    for ch, shown in _NOT_STORED.items():
        if ch in aymara:
            found.append(f"orthography: {shown!r} (write ASCII ' and avoid ï: not GSM-7)")
    return found


def stale_exemptions(msgids: set[str]) -> list[str]:
    """Exemptions naming a message that no longer exists (so they cannot hide a new one)."""
    return [
        f"glossary: exemption for '{term.concept}' names an unknown message {msgid[:50]!r}"
        for term in TERMS
        for msgid in term.exempt
        if msgid not in msgids
    ]
