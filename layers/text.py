"""Text as the project keeps it: identifiers and codes in one spelling, no invisible
characters anywhere.

Two ids that look the same must be the same id. A zero-width space, a bidi override, a
full-width letter or a no-break space makes ``"JZ2026-001"`` a different string that looks
identical, and a stock-list diff then shows "removed JZ2026-001, added JZ2026-001".

- Identifiers and codes (``parcel_id``, ``park_id``, land-use classes, telephone numbers,
  quarters) are NFKC-normalised and trimmed: full-width ``ＪＺ２０２６－００１`` and
  ``JZ2026-001`` are one id.
- Free text (names, notes, addresses) is NFC-normalised and trimmed, and odd spaces
  (no-break, thin, …) become plain spaces. Not NFKC: it would rewrite the full-width
  punctuation Chinese text is written with (``（`` → ``(``, ``：`` → ``:``, ``１号`` → ``1号``)
  and the bureau's names would no longer read as they wrote them. Nothing in free text
  is compared as a key, so the look-alike problem does not arise there.
- Invisible characters are refused in both, never silently removed: control characters
  (Unicode category Cc; tab and line breaks are allowed in free text), format characters
  (Cf: zero-width spaces and joiners U+200B–U+200D, marks U+200E–U+200F, bidi embeddings
  and overrides U+202A–U+202E and isolates U+2066–U+2069, U+FEFF, soft hyphen …), line
  and paragraph separators (Zl, Zp), surrogates, and the other default-ignorable code
  points that draw nothing (Hangul fillers, variation selectors, tag characters) plus the
  blank braille pattern. Removing them silently would hide that the file was made by
  copying from somewhere that adds them; the user fixes the cell.
"""

from __future__ import annotations

import unicodedata

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside the categories
# refused below, and U+2800, which is not ignorable but draws nothing either.
_BLANK_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x2800, 0x2800),  # braille pattern blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0x1D173, 0x1D17A),  # musical symbol format characters
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
# Not private-use (Co: GBK decodes some rare characters of names there) nor unassigned
# (Cn: this Python's Unicode tables may predate a rare ideograph a name is written with).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_TEXT_WHITESPACE = frozenset("\t\n\r")
# Spaces other than the plain one that free text may hold: U+3000 is the ideographic
# space Chinese text is indented with; the others look like a plain space and become one.
_KEPT_SPACES = frozenset(" \u3000")


def invisible(value: str, *, code: bool = False) -> list[str]:
    """The invisible characters in ``value``, each as ``U+XXXX NAME``, in order.

    Tab, CR and LF are allowed in free text (``code=False``), not in ids and codes.

    Examples
    --------
    >>> invisible("JZ2026\\u200b-001")
    ['U+200B ZERO WIDTH SPACE']
    >>> invisible("第一行\\n第二行"), invisible("JZ\\n1", code=True)
    ([], ['U+000A LINE FEED'])
    """
    return [describe(c) for c in value if _refused(c) and (code or c not in _TEXT_WHITESPACE)]


def _refused(char: str) -> bool:
    if unicodedata.category(char) in _REFUSED_CATEGORIES:
        return True
    point = ord(char)
    return any(lo <= point <= hi for lo, hi in _BLANK_RANGES)


def describe(char: str) -> str:
    """A character as a person can find it: ``U+202E RIGHT-TO-LEFT OVERRIDE``."""
    name = unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = _CONTROL_NAMES.get(char, "CONTROL")
    return f"U+{ord(char):04X} {name}".rstrip()


_CONTROL_NAMES = {"\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x00": "NUL"}


ID_PUNCTUATION = frozenset("-_./()#")
"""What an identifier may hold besides ASCII letters and digits and Chinese characters."""


def unlike_id(value: str) -> list[str]:
    """The characters an identifier (``*_id``), once normalised, may not hold, each as
    ``U+XXXX NAME``: anything but ASCII letters and digits, Chinese characters (CJK
    ideographs) and ``- _ . / ( ) #``.

    After NFKC, full-width letters and digits are ASCII already; what is left that looks
    like them is another script's letter (Cyrillic ``А``, Greek ``Α``), a combining mark,
    another dash (``−``, ``‐``, ``–``), another digit (``٠``) or a space: each would make
    an id that looks like one in force but is not. Case is kept: ``jz2026-001`` and
    ``JZ2026-001`` are two ids.

    Examples
    --------
    >>> unlike_id("JZ2026-001"), unlike_id("晋中2026(一)-01")
    ([], [])
    >>> unlike_id("J\u0417\u20122026")  # Cyrillic Ze, figure dash
    ['U+0417 CYRILLIC CAPITAL LETTER ZE', 'U+2012 FIGURE DASH']
    """
    return [describe(c) for c in dict.fromkeys(value) if not _id_character(c)]


def _id_character(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char in ID_PUNCTUATION
    return unicodedata.name(char, "").startswith("CJK ") and unicodedata.category(char) == "Lo"


def normalise_id(value: str) -> str:
    """An identifier or code in the one spelling the project keeps: NFKC, trimmed.

    Invisible characters are not removed here: check with :func:`invisible` (or use
    :func:`checked_id`) first.

    Examples
    --------
    >>> normalise_id(" ＪＺ２０２６－００１\\u00a0")
    'JZ2026-001'
    """
    return unicodedata.normalize("NFKC", value).strip()


def normalise_text(value: str) -> str:
    """Free text as kept: NFC, odd spaces made plain, trimmed (full-width punctuation
    stays as written).

    Examples
    --------
    >>> normalise_text("\\u00a0晋中（开发区）\\u2009一号地 ")
    '晋中（开发区） 一号地'
    """
    text = unicodedata.normalize("NFC", value)
    if not text.isascii():
        text = "".join(
            " " if c not in _KEPT_SPACES and unicodedata.category(c) == "Zs" else c for c in text
        )
    return text.strip()


def checked_id(value: str, *, what: str = "编号 (id)") -> str:
    """``value`` normalised as an id, or :class:`ValueError` naming its invisible
    characters and ``what`` it is — for ids typed in a request or on the command line.

    Examples
    --------
    >>> checked_id("JZ2026-001 ")
    'JZ2026-001'
    >>> checked_id("JZ2026-001\\u202e")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 编号 (id) 含不可见字符 U+202E RIGHT-TO-LEFT OVERRIDE, 请删除 ...
    """
    found = invisible(value, code=True)
    if found:
        raise ValueError(
            f"{what} 含不可见字符 {', '.join(found)}, 请删除 (contains an invisible "
            f"character: remove it): {value!r}"
        )
    normal = normalise_id(value)
    if not normal:
        raise ValueError(f"{what} 为空 (is empty)")
    unlike = unlike_id(normal)
    if unlike:
        raise ValueError(
            f"{what} 含编号不允许的字符 {', '.join(unlike)} (contains characters an id may "
            f"not hold: ASCII letters and digits, Chinese characters, - _ . / ( ) #): {value!r}"
        )
    return normal


def shown(value: str) -> str:
    """``value`` with its invisible characters written out (``<U+200B>``), for messages:
    an id naming a problem row must show what is wrong with it."""
    return "".join(f"<U+{ord(c):04X}>" if _refused(c) else c for c in value)
