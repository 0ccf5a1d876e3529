"""Inbound text normalisation and option parsing, for matching what residents type.

Residents answer from basic phones and WhatsApp, in Spanish or Aymara, with or without accents,
in capitals, with curly apostrophes and stray punctuation. Everything here is for matching only:
never show the output of :func:`normalize` or :func:`strip_accents` to anyone.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

# Apostrophe look-alikes phones and keyboards produce; Aymara uses the apostrophe for glottalized
# consonants (jark'aña), so they must all match the ASCII one.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u00b4`\u2032\u201b\uff07", "'"))

# Compatibility forms NFKC would rewrite that mean something as they are: "Nº 45".
_KEEP_AS_WRITTEN = frozenset("ºª")

# Emoji parts that turn a digit into a keycap ("2️⃣"): dropped when reading an option.
_KEYCAP = str.maketrans(dict.fromkeys("\ufe0f\ufe0e\u20e3", None))

# Words that may precede the number in an option reply ("opción 2", "la 2", "nro. 3").
_OPTION_PREFIXES = frozenset(
    {"opcion", "opc", "op", "numero", "num", "nro", "nº", "n°", "el", "la"}
)

# A longer run of digits is a phone number, a year or an amount, not a menu option.
MAX_OPTION_DIGITS = 3


def strip_accents(text: str) -> str:
    """Remove diacritics (á -> a, ñ -> n, ä -> a); for matching only, never for display."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept)


def _is_edge_junk(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


def _strip_edges(text: str, junk: Callable[[str], bool] = _is_edge_junk) -> str:
    """Strip `junk` at both ends (by default whitespace and punctuation), keeping what is
    inside (jark'a)."""
    start, end = 0, len(text)
    while start < end and junk(text[start]):
        start += 1
    while end > start and junk(text[end - 1]):
        end -= 1
    return text[start:end]


def normalize(text: str) -> str:
    """Canonical form of a resident's message for matching keywords, options and names.

    Control/format characters removed, NFKC (fullwidth "ＢＡＪＡ" and "１" are the letters and
    digits they show), case-folded, accents stripped, apostrophe variants
    made ASCII, whitespace collapsed, punctuation stripped at both ends:
    "  ¡BAJA!  " -> "baja", "Menú." -> "menu", "Jark’aña" -> "jark'ana".
    """
    # Controls go first so that removing one cannot bring together characters NFKC would compose.
    visible = "".join(
        ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    compatible = "".join(
        ch if ch in _KEEP_AS_WRITTEN else unicodedata.normalize("NFKC", ch)
        for ch in visible.translate(_APOSTROPHES)
    )
    folded = strip_accents(unicodedata.normalize("NFC", compatible).casefold())
    # After case-folding: "ŉ".casefold() yields U+02BC, which must become ' as well.
    folded = folded.translate(_APOSTROPHES)
    return _strip_edges(" ".join(folded.split()))


def bare_words(normalized: str) -> list[str]:
    """The words of a normalised message without the punctuation and symbols around each
    (emoji too): "baja, 🙏" -> ["baja"]. Punctuation inside a word stays (sayt'ayana)."""
    stripped = (_strip_edges(word, _is_around_a_word) for word in normalized.split())
    return [word for word in stripped if word]


def _is_around_a_word(ch: str) -> bool:
    # Punctuation, symbols (emoji) and marks left alone at an edge (an emoji's variation
    # selector).
    return unicodedata.category(ch)[0] in "PSM"


_NUMBER_SPELLINGS: dict[str, int] = {
    # Spanish
    "cero": 0,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    # Aymara, Alfabeto Único (1984). "jani"/"janiwa" mean "no", never a number.
    "maya": 1,
    "mä": 1,
    "paya": 2,
    "pä": 2,
    "kimsa": 3,
    "pusi": 4,
    "phisqa": 5,
    "suxta": 6,
    "paqallqu": 7,
    "kimsaqallqu": 8,
    "llätunka": 9,
    "tunka": 10,
}

# Number words 0..10 in their normalised form ("mä" -> "ma"), as normalize() produces them.
NUMBER_WORDS: dict[str, int] = {normalize(w): n for w, n in _NUMBER_SPELLINGS.items()}


def _option_value(token: str) -> int | None:
    token = _strip_edges(token)
    if token.isascii() and token.isdigit() and len(token) <= MAX_OPTION_DIGITS:
        return int(token)
    return NUMBER_WORDS.get(token)


def parse_option(text: str, maximum: int | None = None) -> int | None:
    """The option number a resident's reply means, or None if it is not clearly an option.

    Accepts a bare number or number word ("2", "#2", "3)", "uno", "Maya", "mä", "2️⃣"), optionally
    after one prefix word ("opción 2", "la dos"). Anything longer ("tengo 2 hijos") is not an
    option. With ``maximum``, only 0..maximum is accepted.
    """
    words = normalize(text).translate(_KEYCAP).split()
    if len(words) == 2 and _strip_edges(words[0]) in _OPTION_PREFIXES:
        words = words[1:]
    if len(words) != 1:
        return None
    value = _option_value(words[0])
    if value is None or (maximum is not None and not 0 <= value <= maximum):
        return None
    return value


def has_words(text: str) -> bool:
    """True if the text says something (a letter or a digit), not just emoji or punctuation."""
    return any(ch.isalnum() for ch in text)


def describes(text: str) -> bool:
    """True if the text can describe something: it has a letter. A bare "1" or "4" is a menu
    number typed at the wrong question, not a problem, a service or a mapped place."""
    return any(ch.isalpha() for ch in text)
