"""SMS/WhatsApp addressing, GSM-7 fitting, segment counting and outbound rendering.

Twilio addresses a WhatsApp user as ``whatsapp:+E164`` and an SMS user as ``+E164``. Every
outbound text goes through :func:`render`, which on SMS folds characters that would otherwise
switch the whole message to UCS-2 (70 characters a segment instead of 160).
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Literal

import phonenumbers

Channel = Literal["sms", "whatsapp"]
Encoding = Literal["GSM-7", "UCS-2"]

CHANNELS: tuple[Channel, ...] = ("sms", "whatsapp")
DEFAULT_REGION = "BO"
WHATSAPP_PREFIX = "whatsapp:"

# Characters a phone number may be written with besides digits. Letters are refused so that
# "hola 71234567" or vanity numbers are not silently read as a phone number.
_PHONE_PUNCTUATION = frozenset("+-(). /")

# --- GSM 03.38 --------------------------------------------------------------------------------

# The default alphabet, in code point order 0x00..0x7F, without 0x1B (the escape to the
# extension table, which is not a character).
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each of these is sent as ESC + char and costs 2 septets.
GSM7_EXTENDED: frozenset[str] = frozenset("\f^{}\\[~]|€")
_GSM7 = GSM7_BASIC | GSM7_EXTENDED

GSM7_SINGLE = 160  # septets in a single-segment message
GSM7_PART = 153  # septets per segment of a concatenated message (7 go to the UDH)
UCS2_SINGLE = 70  # UTF-16 code units in a single-segment message
UCS2_PART = 67  # UTF-16 code units per segment of a concatenated message


def is_gsm7(text: str) -> bool:
    """True if every character of ``text`` can be sent in the GSM-7 alphabet."""
    return _GSM7.issuperset(text)


def encoding(text: str) -> Encoding:
    """The encoding an SMS carrying ``text`` is sent in: one non-GSM-7 character means UCS-2."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _pack(costs: list[int], single: int, part: int) -> int:
    """Segments needed for units of the given costs; a unit (escape/surrogate pair) never splits."""
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count += 1
            used = 0
        used += cost
    return count


def _septet_costs(text: str) -> list[int]:
    """Septets each character of a GSM-7 text takes: 2 for the extension table's, else 1."""
    return [2 if ch in GSM7_EXTENDED else 1 for ch in text]


def segments(text: str) -> int:
    """Number of SMS segments Twilio bills for ``text``.

    GSM-7: 160 septets in one segment, 153 per segment when split; extension characters cost 2
    septets and their escape pair is never split. UCS-2: 70 UTF-16 code units in one segment, 67
    per segment when split; characters outside the BMP cost 2 units and their surrogate pair is
    never split. An empty body returns 1, because Twilio still sends (and bills) one message.
    """
    if is_gsm7(text):
        return _pack(_septet_costs(text), GSM7_SINGLE, GSM7_PART)
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _pack(costs, UCS2_SINGLE, UCS2_PART)


# --- Folding to GSM-7 -------------------------------------------------------------------------

_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u02bc\u02bb\u02b9\u00b4`\uff07"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u02ba\uff02"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_SPACES = (
    "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)
_LINE_BREAKS = "\u0085\u2028\u2029"
# Invisible characters that carry nothing in an SMS.
_INVISIBLE = "\u200b\u2060\ufeff\u00ad\u180e"
# Joiners are invisible too, but inside emoji sequences (family, flags of people) they matter.
_JOINERS = frozenset("\u200c\u200d")

_FOLD_MAP: dict[str, str] = {
    **dict.fromkeys(_SINGLE_QUOTES, "'"),
    **dict.fromkeys(_DOUBLE_QUOTES, '"'),
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys(_SPACES, " "),
    **dict.fromkeys(_LINE_BREAKS, "\n"),
    **dict.fromkeys(_INVISIBLE, ""),
    "\u2026": "...",
    # Letters without a canonical decomposition.
    "Ð": "D",
    "ð": "d",
    "Đ": "D",
    "đ": "d",
    "Ł": "L",
    "ł": "l",
    "ı": "i",
    "Þ": "Th",
    "þ": "th",
    "Œ": "OE",
    "œ": "oe",
    "ª": "a",
    "º": "o",
}


def _clusters(text: str) -> list[str]:
    """Split text into a base character followed by its combining marks."""
    out: list[str] = []
    for ch in text:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _fold_cluster(cluster: str, expand: bool) -> str:
    """GSM-7 replacement for one cluster, or the cluster itself when there is none."""
    if is_gsm7(cluster):
        return cluster
    if len(cluster) == 1 and cluster in _FOLD_MAP:
        folded = _FOLD_MAP[cluster]
        return folded if expand or len(folded) <= 1 else cluster
    decomposed = unicodedata.normalize("NFD", cluster)
    base, marks = decomposed[0], decomposed[1:]
    if unicodedata.category(base).startswith("M"):
        return cluster
    # Only accents may be dropped (combining class > 0); a keycap or variation selector may not.
    if any(unicodedata.combining(mark) == 0 for mark in marks):
        return cluster
    # Keep as many accents as GSM-7 allows: "ǘ" -> "ü", "ó" -> "o".
    for keep in range(len(marks), -1, -1):
        candidate = unicodedata.normalize("NFC", base + marks[:keep])
        if is_gsm7(candidate):
            return candidate
    return cluster


def _fold(text: str, expand: bool) -> str:
    clusters = _clusters(text)
    folded = [_fold_cluster(c, expand) for c in clusters]
    out: list[str] = []
    for i, (orig, new) in enumerate(zip(clusters, folded, strict=True)):
        if orig in _JOINERS:
            neighbours = folded[max(i - 1, 0) : i] + folded[i + 1 : i + 2]
            keep = any(not is_gsm7(n) and n not in _JOINERS for n in neighbours)
            out.append(orig if keep else "")
        else:
            out.append(new)
    return "".join(out)


@functools.cache
def _quick_table() -> dict[int, str]:
    """Single-character folds for Latin-1, Latin Extended-A/B and the typography map."""
    chars = {chr(cp) for cp in range(0xA0, 0x250)} | set(_FOLD_MAP)
    return {
        ord(ch): _fold_cluster(ch, expand=True)
        for ch in chars
        if ch not in _JOINERS and not is_gsm7(ch)
    }


def fold_gsm7(text: str) -> str:
    """Replace characters GSM-7 lacks by close GSM-7 ones so the SMS costs fewer segments.

    á í ó ú ï â ... lose their accent, typographic quotes/dashes/spaces become ASCII, "…" becomes
    "...", zero-width characters go. What GSM-7 has (é ñ ü ä ö à è ì ò ù Ç ¿ ¡ ...) is kept.
    Characters with no GSM-7 equivalent (emoji, CJK) are left as they are: the message stays
    UCS-2 and no content is dropped. Expansions (… -> ..., œ -> oe) are only made when the
    result is GSM-7 and no longer, so folding never costs more segments than the original.
    """
    if is_gsm7(text):
        return text  # nothing to fold: the common case for catalog texts, and cheap
    # Precomposed accents and typography fold one character at a time: a translate table
    # gives the same result as the cluster walk whenever the outcome is all GSM-7.
    quick = text.translate(_quick_table())
    full = quick if is_gsm7(quick) else _fold(text, expand=True)
    if is_gsm7(full) and segments(full) <= segments(text):
        return full
    return _fold(text, expand=False)


def quote(text: str, limit: int) -> str:
    """Someone's words quoted inside a reply: on one line, at most `limit` septets once folded.

    Replies quote what a resident, a leader or the municipality wrote (a report's place, a
    poll's question, a status note). One emoji or letter of another script would turn the whole
    SMS into UCS-2, where one segment holds 70 characters instead of 160, so what has no GSM-7
    form is left out of the quote (the text stays stored as it was written). Accents stay: SMS
    folds them with the rest of the message, WhatsApp shows them. Longer than `limit` (counted
    as folded: an extension character costs 2): cut with "...".
    """
    kept = "".join(c for c in _clusters(text) if _septets(c) is not None)
    # One line: dropping a cluster can leave spaces side by side, or a mark after a space.
    priced = [(c, n) for c in _clusters(" ".join(kept.split())) if (n := _septets(c)) is not None]
    if sum(n for _, n in priced) <= limit:
        return "".join(c for c, _ in priced)
    end, used = 0, 0
    while used + priced[end][1] <= limit - 3:
        used += priced[end][1]
        end += 1
    return "".join(c for c, _ in priced[:end]).rstrip() + "..."


def _septets(cluster: str) -> int | None:
    """What a cluster costs in an SMS once folded, or None when GSM-7 cannot carry it."""
    folded = _fold_cluster(cluster, expand=True)
    return sum(_septet_costs(folded)) if is_gsm7(folded) else None


def render(text: str, channel: Channel, *, fold: bool = True) -> str:
    """The single outbound rendering point: fold to GSM-7 on SMS, leave WhatsApp text alone."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
    if channel == "sms" and fold:
        return fold_gsm7(text)
    return text


# --- Addressing -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def parse_address(raw: str) -> tuple[str, Channel]:
    """Twilio's From/To value -> (E.164 phone, channel).

    Accepts surrounding spaces, a ``whatsapp:`` prefix in any case and national Bolivian
    numbers. Raises ValueError for anything that is not a plausible phone number. Results are
    cached (residents write again and again from the same number; errors are not cached).
    """
    value = raw.strip()
    channel: Channel = "sms"
    if value[: len(WHATSAPP_PREFIX)].lower() == WHATSAPP_PREFIX:
        channel = "whatsapp"
        value = value[len(WHATSAPP_PREFIX) :].strip()
    if not value:
        raise ValueError(f"no phone number in address {raw!r}")
    if not all(ch.isdecimal() or ch in _PHONE_PUNCTUATION for ch in value):
        raise ValueError(f"not a phone number: {raw!r}")
    try:
        number = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {raw!r} ({exc})") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), channel


def address_for(phone: str, channel: Channel) -> str:
    """The Twilio To/From value for a phone on a channel (inverse of :func:`parse_address`)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}")
    e164, parsed_channel = parse_address(phone)
    if parsed_channel != "sms":
        raise ValueError(f"expected a bare phone number, got an address: {phone!r}")
    return WHATSAPP_PREFIX + e164 if channel == "whatsapp" else e164
