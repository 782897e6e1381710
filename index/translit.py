"""Consonant skeletons, so a name in Latin script meets its spelling in Arabic script.

"Denver" and «دنفر», "Broncos" and «برونكوز», "Baghouz" and «الباغوز» share a skeleton: the
consonants mapped to a few sound classes, vowels and the letters that double as vowels (ا و ي)
dropped, the Arabic definite article stripped, repeats collapsed. Arabic writes no short vowels
and transliterates g, k and q alike (ج غ ك ق), so those fall into one class. The classes are
coarse on purpose: a match is a hint for ranking, never a filter. This does not translate words,
only names and numbers (which it reads in Western and Eastern Arabic digits).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

from index.arabic import WESTERN_DIGITS, normalize, numbers_in

# Longest spellings first: "sh" must win over "s".
_LATIN = (
    ("sch", "S"), ("sh", "S"), ("ch", "S"), ("th", "T"), ("gh", "K"), ("kh", "K"), ("ph", "F"), ("ck", "K"),
    ("qu", "K"), ("x", "KS"), ("b", "B"), ("p", "B"), ("t", "T"), ("d", "D"), ("s", "S"), ("z", "S"),
    ("c", "K"), ("k", "K"), ("q", "K"), ("g", "K"), ("j", "K"), ("f", "F"), ("v", "F"), ("l", "L"),
    ("m", "M"), ("n", "N"), ("r", "R"), ("h", "H"),
)  # fmt: skip
_SOUNDS = {
    **dict.fromkeys("بپ", "B"), **dict.fromkeys("تطثٹ", "T"), **dict.fromkeys("دضذظڈ", "D"),
    **dict.fromkeys("سصزشچژ", "S"), **dict.fromkeys("جغقكخگک", "K"), **dict.fromkeys("فڤ", "F"),
    "ل": "L", "م": "M", "ن": "N", **dict.fromkeys("رڑ", "R"), **dict.fromkeys("هحہھ", "H"),
}  # fmt: skip
_ARABIC = str.maketrans({chr(c): _SOUNDS.get(chr(c), "") for c in range(0x0600, 0x0700)})  # the rest: vowels, marks
_ARTICLE = re.compile(r"^(?:[وف]?[بكل]?ال|[وف]?لل)(?=\w{3,})")
_ARABIC_WORD = re.compile(r"[\u0621-\u064a\u0671-\u06d3]+")
_LATIN_WORD = re.compile(r"[^\W\d_][\w'-]*")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_NUMBER = re.compile(r"\d{2,}")
MIN_CONSONANTS = 3  # shorter skeletons match too many Arabic words (most roots have three)


def _collapse(skeleton: str) -> str:
    return re.sub(r"(.)\1+", r"\1", skeleton)


def latin_skeleton(word: str) -> str:
    """The sound classes of a Latin-script word's consonants: "Broncos" → "BRNKS"."""
    word = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()  # "Erdoğan" → "erdogan"
    out, i = [], 0
    while i < len(word):
        for spelling, sound in _LATIN:
            if word.startswith(spelling, i):
                out.append(sound)
                i += len(spelling)
                break
        else:
            i += 1  # a vowel, w or y
    return _collapse("".join(out))


def arabic_skeleton(word: str) -> str:
    """The sound classes of an Arabic-script word's consonants, its article stripped: «البرونكوز» → "BRNKS"."""
    return _skeleton(_ARTICLE.sub("", normalize(word)))


def _skeleton(word: str) -> str:
    """The skeleton of a normalised word, as it stands."""
    if len(word) > 3 and word.endswith("ه"):  # ة, a feminine ending, not a consonant of a name
        word = word[:-1]
    return _collapse(word.translate(_ARABIC))


def numbers(text: str) -> set[str]:
    """Numbers of two or more digits in ``text`` (``numbers_in``: any digits, no thousands separators)."""
    return {digits for n in numbers_in(text) for digits in _NUMBER.findall(n)}


def name_keys(question: str) -> set[str]:
    """Skeletons of a Latin-script question's names (capitalised words after the first, acronyms), and its numbers."""
    keys = numbers(question)
    for i, word in enumerate(w for w in _LATIN_WORD.findall(question) if _LATIN_LETTER.match(w)):
        if (i > 0 and word[0].isupper()) or (len(word) > 1 and word.isupper()):
            keys |= {s for part in re.split(r"['-]", word) if len(s := latin_skeleton(part)) >= MIN_CONSONANTS}
    return keys


def token_keys(tokens: Iterable[str]) -> list[str]:
    """Keys of a passage's lexical tokens (normalised, article stripped): its Arabic words' skeletons, its numbers.

    What the names leg indexes, so a Latin-script question's names find Arabic passages that
    dense search ranked too low. A key repeats as often as its word: BM25 counts it. Tokens lost
    what ``arabic_keys`` reads from the text (a number's thousands separators, «بال…» names read
    both ways), so the re-ranking's names match is the finer one.
    """
    return [key for token in tokens if (key := _token_key(token))]


@functools.lru_cache(maxsize=1 << 16)
def _token_key(token: str) -> str:
    if token.isdigit():  # Western or Eastern Arabic digits (a number's groups are tokens of their own)
        digits = token.translate(WESTERN_DIGITS)
        return digits if len(digits) >= 2 and digits.isascii() else ""
    if not _ARABIC_WORD.fullmatch(token):
        return ""
    skeleton = _skeleton(token)
    return skeleton if len(skeleton) >= MIN_CONSONANTS else ""


@functools.lru_cache(maxsize=8192)
def arabic_keys(text: str) -> frozenset[str]:
    """Skeletons of the Arabic-script words in ``text`` (with and without a leading «ال»), and its numbers.

    «بالتيمور» is Baltimore, not «ب» + «ال» + «تيمور»: both readings are kept. Cached: the same
    passages come back for question after question.
    """
    words = _ARABIC_WORD.findall(normalize(text))  # normalised first: a diacritic inside a word would split it
    keys = {_skeleton(w) for w in words} | {_skeleton(_ARTICLE.sub("", w)) for w in words}
    return frozenset(keys | numbers(text))
