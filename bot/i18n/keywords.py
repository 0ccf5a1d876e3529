"""The keywords residents may type at any moment: opt-out, opt-in, help, zona information,
menu, language, erase.

They are read before any flow (bot.engine), in Spanish, Aymara and English, on the message's
normalised form (bot.text.normalize).
"""

from __future__ import annotations

import itertools
import re

from bot.text import bare_words


def _phrases(*parts: tuple[str, ...]) -> frozenset[str]:
    """Every phrase made of one choice from each part, in order ("" leaves the part out)."""
    return frozenset(
        " ".join(word for word in choice if word) for choice in itertools.product(*parts)
    )


_OPTIONAL_MORE = ("", "mas")
_MESSAGES = ("mensajes", "sms", "sus mensajes", "estos mensajes", "los mensajes", "notificaciones")

# How people ask in plain words not to be written to any more, beyond the one-word keywords:
# "ya no me escriban", "no me manden nada", "dejen de enviarme mensajes", "sáquenme de la
# lista", "stop texting me". Each is a whole message (give or take courtesy words), and every
# phrase has a verb of sending or leaving, so "no me llegan los mensajes" (a complaint) and
# "no me envíen al técnico" are read as text, not as an opt-out.
ASKING_TO_STOP: frozenset[str] = (
    _phrases(
        ("no",),
        ("me", "nos", ""),
        # Usted, ustedes and tú: residents address the bot every way.
        ("manden", "mande", "mandes", "envien", "envie", "envies")
        + ("escriban", "escriba", "escribas", "molesten", "moleste", "molestes"),
        ("", "mas", "nada", "nada mas", "mas nada", "ningun mensaje", "nunca mas")
        + _MESSAGES
        + tuple(f"mas {m}" for m in _MESSAGES)
        + tuple(f"{m} mas" for m in _MESSAGES),
    )
    | _phrases(
        ("no",),
        ("quiero", "deseo", "queremos"),
        ("recibir", "que me manden", "que me envien", "que me escriban"),
        _OPTIONAL_MORE,
        ("", "nada") + _MESSAGES,
        _OPTIONAL_MORE,
    )
    | _phrases(("no",), ("quiero", "deseo", "queremos"), _OPTIONAL_MORE, _MESSAGES, _OPTIONAL_MORE)
    | _phrases(
        ("", "quiero", "deseo", "quisiera", "queremos"),
        ("dejar de recibir",),
        ("",) + _MESSAGES,
    )
    | _phrases(
        ("", "quiero", "deseo", "quisiera"),
        ("darme de baja", "salirme", "salir", "desuscribirme", "retirarme", "cancelar")
        + ("cancelar mi suscripcion",),
        ("", "de la lista", "de mi barrio", "de los mensajes", "de este servicio"),
    )
    | _phrases(
        ("dejen de", "deje de", "deja de"),
        ("mandarme", "enviarme", "escribirme", "molestarme", "mandarnos", "enviarnos")
        + ("escribirnos", "mandar", "enviar"),
        ("", "mensajes", "sms"),
    )
    | _phrases(
        ("sacame", "saqueme", "saquenme", "quitame", "quiteme", "quitenme")
        + ("borrame", "borreme", "borrenme"),
        ("de la lista", "de mi barrio", "de los mensajes", "de este servicio"),
    )
    # English
    | _phrases(
        ("stop",), ("texting", "messaging", "sending"), ("", "me"), ("", "messages", "texts")
    )
    | _phrases(
        ("dont", "don't", "do not"),
        ("text", "message", "send"),
        ("me",),
        ("", "anymore", "any more", "again", "messages"),
    )
    | _phrases(("remove me",), ("", "from the list", "from this list", "from your list"))
    | _phrases(("no more",), ("messages", "texts"))
    | _phrases(("unsubscribe", "opt out"), ("me",), ("", "from this", "from the list"))
    | _phrases(("stop",), ("all", "everything", "all messages"))
    # "Leave me alone": déjenme / déjeme / déjame en paz, tranquilo(s).
    | _phrases(
        ("dejenme", "dejeme", "dejame", "dejennos"),
        ("en paz", "tranquilo", "tranquila", "tranquilos"),
    )
)


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
    )
    # Sentences ("quiero darme de baja", "no me manden más mensajes") come from the grammar.
    | ASKING_TO_STOP,
    # Only meaningful to someone who opted out ("yes" is Twilio's own re-subscribe word).
    "optin": frozenset({"alta", "darme de alta", "iniciar", "start", "unstop", "yes"}),
    "help": frozenset({"ayuda", "help", "yanapa", "yanapana"}),
    # The zona's information (bot/flows/info.py); before sign-up it answers like help.
    "info": frozenset({"info", "informacion"}),
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
    around the words, and a keyword repeated ("BAJA BAJA") said once. Then, for a message of
    one word or of single letters, as it was meant: letters spaced out ("B A J A") joined,
    and letters held down ("bajaaa", "stoooop") said once.
    """
    found = _keyword(normalized_text)
    if found is None:
        bare = _bare(normalized_text)
        if bare != normalized_text:
            found = _keyword(bare)
        if found is None:
            found = _SQUEEZED.get(_squeeze(_one_word(bare)))
    return found


def _one_word(bare: str) -> str:
    """Letters spaced out ("b a j a", "B-A-J-A", "b.a.j.a") joined; any other text as it is."""
    letters = _SPACED.split(bare)
    if len(letters) >= 3 and all(len(letter) == 1 and letter.isalpha() for letter in letters):
        return "".join(letters)
    return bare


_SPACED = re.compile(r"[\s.\-_*]+")


def _squeeze(word: str) -> str:
    """A letter repeated in a row said once: "bajaaa" -> "baja", "stoop" -> "stop"."""
    return "".join(ch for i, ch in enumerate(word) if i == 0 or ch != word[i - 1])


# One-word keywords by their squeezed form, for typing that stretches or spaces the letters.
# Only single words: a sentence is matched as written. A squeezed form shared by two
# keywords of different meaning would be ambiguous, and there is none (a test says so).
_SQUEEZED: dict[str, str] = {
    _squeeze(word): name
    for name in reversed(("optout", "help", "info", "menu", "language", "erase", "optin"))
    for word in KEYWORDS[name]
    if " " not in word
}


def _keyword(text: str) -> str | None:
    for name in ("optout", "help", "info", "menu", "language", "erase", "optin"):
        if text in KEYWORDS[name]:
            return name
    return None


def _bare(normalized_text: str) -> str:
    words = [word for word in bare_words(normalized_text) if word not in COURTESY]
    if len(set(words)) == 1:
        words = words[:1]
    return " ".join(words)
