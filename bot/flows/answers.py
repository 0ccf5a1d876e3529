"""The answer words residents type to a yes/no question, to MAS and to go back: one vocabulary.

Every prompt that asks yes or no (consent, a report's confirmation, "me too", "¿Se resolvió?",
erasing, a leader's send) reads the answer here, so a word that confirms in one place confirms
in all of them. Words are in Spanish, Aymara and English, stored in their normalised form
(bot.text.normalize: "Sí" -> "si", "más" -> "mas", "jisa'" -> "jisa"). The Aymara yes/no forms
come from the glossary (bot.i18n.glossary), which checks the catalogs use them.

None of these is a global keyword (bot.i18n.keywords): "no" and "jani" answer a question and
must never opt anyone out.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n.glossary import AYMARA_NO, AYMARA_YES
from bot.text import normalize, parse_option


def _normalised(*groups: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize(word) for group in groups for word in group)


YES: frozenset[str] = _normalised(
    ("sí", "si", "s", "acepto", "sí acepto", "ok", "okay"),  # Spanish
    (*AYMARA_YES, "jisa'"),  # Aymara
    ("yes",),  # English
)
NO: frozenset[str] = _normalised(
    ("no", "n", "no acepto"),  # Spanish
    AYMARA_NO,  # Aymara
    ("nope",),  # English
)
# "Send" and "don't send", where the prompt offers "1 Enviar / 2 No enviar".
SEND: frozenset[str] = _normalised(("enviar", "apayaña", "send"))
DONT_SEND: frozenset[str] = _normalised(("no enviar", "jan apayaña", "don't send"))
MORE: frozenset[str] = _normalised(
    ("más", "mas", "+", "siguiente", "anterior"),  # Spanish
    ("juk'ampi", "jukampi"),  # Aymara
    ("more", "next"),  # English
)
BACK: frozenset[str] = _normalised(
    ("0", "volver", "atrás"),  # Spanish
    ("kutt'aña", "kuttaña"),  # Aymara
    ("back",),  # English
)

assert not YES & NO, YES & NO


def yes_or_no(
    norm: str,
    yes_option: int = 1,
    no_option: int = 2,
    *,
    yes: Iterable[str] = (),
    no: Iterable[str] = (),
) -> bool | None:
    """True for a yes, False for a no, None when the normalised text is neither.

    The option numbers the prompt shows count too, typed or spelled ("1", "uno", "maya");
    `yes` and `no` add the words of one prompt's own labels ("yo tambien", "otro").
    """
    option = parse_option(norm, max(yes_option, no_option))
    if option == yes_option or norm in YES or norm in yes:
        return True
    if option == no_option or norm in NO or norm in no:
        return False
    return None


def is_more(norm: str) -> bool:
    """True when the normalised text asks for the next page (MAS)."""
    return norm in MORE


def is_back(norm: str) -> bool:
    """True when the normalised text asks to go back (0, VOLVER)."""
    return norm in BACK
