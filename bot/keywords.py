"""The keywords residents may type at any moment: opt-out, opt-in, help, menu, language, erase.

They are read before any flow (bot.engine), in Spanish, Aymara and English, on the message's
normalised form (bot.text.normalize).
"""

from __future__ import annotations

from bot.text import bare_words

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
