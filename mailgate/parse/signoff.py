"""Where the sender's sign-off, signature block or a mailing-list footer starts.

Only the end of what the sender wrote is looked at: the last run of their
lines. A sign-off ("Best regards,", "Mvh", "С уважением,") counts when what
follows it is short and looks like a signature block (a name, a title, a phone,
an address), not like more sentences; "Thanks," and the like need a name after
them. A rule line over a list name or a listinfo URL is a mailing-list footer.
A confidentiality footer ("This e-mail and any attachments are confidential…")
in the last paragraphs is the signature too, with any sign-off above it; so is
a last paragraph of a name over contact lines (a phone, an address, a link)
with no sign-off at all.
Nothing is cut when the cut would leave the sender with no text at all.

The words come from `mailgate.parse.quote_markers`.
"""

from __future__ import annotations

import re
from itertools import pairwise

from mailgate.parse import quote_markers

_TRAILING = ",.!;:-–— \t،，"  # also the Arabic and the full-width comma


def _fold(text: str) -> str:
    """Lower case, with Turkish dotted and dotless i as plain i ("SAYGILARIMLA",
    "İyi günler"): `str.lower` keeps "ı" and turns "İ" into "i" plus a dot."""
    return text.lower().replace("i\u0307", "i").replace("ı", "i")


_SIGN_OFFS = frozenset(map(_fold, quote_markers.SIGN_OFFS))
_THANKS = frozenset(map(_fold, quote_markers.THANKS_SIGN_OFFS))
_ALL_SIGN_OFFS = sorted(
    {*quote_markers.SIGN_OFFS, *quote_markers.THANKS_SIGN_OFFS}, key=len, reverse=True
)
# "Mvh Ola Nordmann", "Regards, Ivan", "Hilsen /Kari": a sign-off with the name after it.
_WITH_NAME = re.compile(
    r"^(?:" + "|".join(re.escape(phrase) for phrase in _ALL_SIGN_OFFS) + r")[,.!]?\s+(\S.*)$", re.I
)
# Their first words: most lines start with none, and skip the long pattern.
_FIRST_WORDS = frozenset(_fold(phrase.split()[0]) for phrase in _ALL_SIGN_OFFS)
_RULE = re.compile(r"^(?:_{10,}|-{10,}|={10,})$")
# Over a mailing-list footer any rule will do, a list's own "__" too.
_LIST_RULE = re.compile(r"^(?:_{2,}|-{2,}|={2,})$")
# A footer with no rule over it (HTML lists draw an <hr>): a list name over its
# listinfo or unsubscribe address.
_LIST_ADDRESS_MARKERS = ("/listinfo", "/mailman/", "-leave@", "list-unsubscribe", "-request@")
_DISCLAIMERS = quote_markers.DISCLAIMER_OPENINGS
_DISCLAIMER_LENGTH = max(len(opening) for opening in _DISCLAIMERS)
# A footer is the last few paragraphs: its opening stands among the last lines.
_MAX_FOOTER_LINES = 12
_MAX_FOOTER_PARAGRAPHS = 3
_MAX_BLOCK_LINES = 8
_MAX_BLOCK_LINE_LENGTH = 80
_NAME_WORDS = 4
_MAX_CONTACT_LINES = 6
# A phone number (7 digits or more), an e-mail address or a web link.
_CONTACT = re.compile(
    r"(?:\+|\b)\d(?:[ ()./-]*\d){6,}|[^\s@]+@[^\s@]+\.[^\W\d_]{2,}|https?://|\bwww\.", re.I
)


def signature_start(lines: list[str], new: list[bool]) -> int | None:
    """The index where the signature starts among the sender's last lines, or None.

    `new[i]` says whether line `i` is the sender's text; the last run of such
    lines (up to the end or the next quoted line) is searched. A signature
    block is short, so only its last few lines can start one; the sender's
    first line never does.
    """
    run = _last_run(lines, new)
    if run is None:
        return None
    first, end = run
    texts = [index for index in range(first, end) if lines[index].strip()]
    wrote_before = any(lines[index].strip() for index in range(first) if new[index])
    footer = _footer_start(lines, texts, wrote_before)
    if footer is not None:
        texts = [index for index in texts if index < footer]
        sign_off = _sign_off_start(lines, texts, wrote_before)
        return footer if sign_off is None else sign_off
    sign_off = _sign_off_start(lines, texts, wrote_before)
    return sign_off if sign_off is not None else _contact_block_start(lines, texts)


def _footer_start(lines: list[str], texts: list[int], wrote_before: bool) -> int | None:
    """The first line of a confidentiality footer that ends the sender's lines, or None."""
    for position in range(max(0, len(texts) - _MAX_FOOTER_LINES), len(texts)):
        index = texts[position]
        if position == 0 and not wrote_before:
            continue
        if position == 0 or texts[position - 1] == index - 1:  # a line right above it
            above = lines[index - 1].strip() if index else ""
            if above and not _RULE.match(above):
                continue  # not the first line of a paragraph
        if not lines[index].lstrip()[:_DISCLAIMER_LENGTH].lower().startswith(_DISCLAIMERS):
            continue
        rest = texts[position:]
        paragraphs = 1 + sum(1 for before, after in pairwise(rest) if after > before + 1)
        if paragraphs <= _MAX_FOOTER_PARAGRAPHS:
            return index
    return None


def _sign_off_start(lines: list[str], texts: list[int], wrote_before: bool) -> int | None:
    """The line of a sign-off over a signature block among the sender's last lines, or None."""
    if not texts:
        return None
    candidates = texts[-(_MAX_BLOCK_LINES + 1) :]
    for position, index in enumerate(candidates):
        if index == texts[0] and not wrote_before:
            continue
        stripped = lines[index].strip()
        below = [lines[later].strip() for later in candidates[position + 1 :]]
        if _LIST_RULE.match(stripped) and _is_list_footer(below):
            return index
        if _is_named_list_footer(stripped, below):
            return index
        if _is_sign_off(stripped, below):
            return index
    return None


def _contact_block_start(lines: list[str], texts: list[int]) -> int | None:
    """A signature without a sign-off: the last paragraph, a name over contact lines
    ("Ivan Petrov" / "Head of IT" / "+7 495 123-45-67"), below the sender's text.

    Only with a phone number, an address or a link among its lines, and not
    after a line ending in ":" (there the sender gives a contact, not theirs).
    """
    start = len(texts) - 1
    while start and texts[start - 1] == texts[start] - 1:
        start -= 1
    block = [lines[index].strip() for index in texts[start:]]
    if start == 0 or not 2 <= len(block) <= _MAX_CONTACT_LINES:
        return None
    if lines[texts[start - 1]].rstrip().endswith(":"):
        return None
    name = block[0]
    if not _is_name(name) or any(char.isdigit() or char == "@" for char in name):
        return None
    # Short lines first: the contact pattern is not searched on a long line.
    if not _is_signature_block(block) or not any(_CONTACT.search(line) for line in block[1:]):
        return None
    return texts[start]


def _last_run(lines: list[str], new: list[bool]) -> tuple[int, int] | None:
    """The last run of the sender's lines that has text: (first, end)."""
    end = len(new)
    while end and not (new[end - 1] and lines[end - 1].strip()):
        end -= 1
    if not end:
        return None
    first = end
    while first and new[first - 1]:
        first -= 1
    return first, end


def _is_list_footer(below: list[str]) -> bool:
    text = [line.lower() for line in below]
    if not text:
        return False
    return any(marker in line for line in text[:4] for marker in quote_markers.LIST_FOOTER_MARKERS)


def _is_named_list_footer(stripped: str, below: list[str]) -> bool:
    """ "voip-admins mailing list" over the list's listinfo or unsubscribe address."""
    if "mailing list" not in stripped.lower() or len(stripped) > _MAX_BLOCK_LINE_LENGTH:
        return False
    return any(marker in line.lower() for line in below[:3] for marker in _LIST_ADDRESS_MARKERS)


def _is_sign_off(stripped: str, block: list[str]) -> bool:
    """Is `stripped` a sign-off over `block`, the sender's last non-blank lines?"""
    phrase = " ".join(_fold(stripped).rstrip(_TRAILING).split())
    if phrase in _SIGN_OFFS or ("/" in phrase and _is_bilingual(phrase)):
        return _is_signature_block(block)
    first_word = phrase.split(" ", 1)[0].rstrip(_TRAILING)
    with_name = _WITH_NAME.match(stripped) if first_word in _FIRST_WORDS else None
    if with_name is not None and _is_name(with_name.group(1), words=3):
        return _is_signature_block(block)
    if phrase in _THANKS:
        return bool(block) and _is_name(block[0]) and _is_signature_block(block)
    return False


def _is_bilingual(phrase: str) -> bool:
    """ "Mit freundlichen Grüßen / Kind regards": sign-offs in two languages."""
    parts = [part.strip(_TRAILING) for part in phrase.split("/")]
    return len(parts) == 2 and all(part in _SIGN_OFFS for part in parts)


def _is_signature_block(block: list[str]) -> bool:
    """Short lines of names, titles, phones and addresses: no sentences, no P.S."""
    for line in block:
        words = line.split()
        if len(line) > _MAX_BLOCK_LINE_LENGTH or len(words) >= 12:
            return False
        if line.endswith("?") or (len(words) >= 6 and line.endswith((".", "!", ":"))):
            return False
        if line.lower().startswith(("p.s", "ps:", "ps ", "p. s")):
            return False
    return True


def _is_name(line: str, *, words: int = _NAME_WORDS) -> bool:
    """One to a few words, each starting with a capital ("Ola Nordmann", "/Kari")."""
    parts = line.lstrip("/-– ").split()
    return 0 < len(parts) <= words and all(part[0].isupper() for part in parts)
