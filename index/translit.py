"""Consonant skeletons, so a name in Latin script meets its spelling in Arabic script.

"Denver" and «دنفر», "Broncos" and «برونكوز», "Baghouz" and «الباغوز» share a skeleton: the
consonants mapped to a few sound classes, vowels and the letters that double as vowels (ا و ي)
dropped, the Arabic definite article stripped, repeats collapsed. Arabic writes no short vowels
and transliterates g, k and q alike (ج غ ك ق), so those fall into one class. The classes are
coarse on purpose: a match is a hint for ranking, never a filter. This does not translate words,
only names and numbers (which it reads in Western and Eastern Arabic digits).
"""

from __future__ import annotations

import re

from index.arabic import normalize

# Longest spellings first: "sh" must win over "s".
_LATIN = (
    ("sch", "S"), ("sh", "S"), ("ch", "S"), ("th", "T"), ("gh", "K"), ("kh", "K"), ("ph", "F"), ("ck", "K"),
    ("qu", "K"), ("x", "KS"), ("b", "B"), ("p", "B"), ("t", "T"), ("d", "D"), ("s", "S"), ("z", "S"),
    ("c", "K"), ("k", "K"), ("q", "K"), ("g", "K"), ("j", "K"), ("f", "F"), ("v", "F"), ("l", "L"),
    ("m", "M"), ("n", "N"), ("r", "R"), ("h", "H"),
)  # fmt: skip
_ARABIC = str.maketrans(
    {
        **dict.fromkeys("بپ", "B"), **dict.fromkeys("تطث", "T"), **dict.fromkeys("دضذظ", "D"),
        **dict.fromkeys("سصزش", "S"), **dict.fromkeys("جغقكخگ", "K"), **dict.fromkeys("فڤ", "F"),
        "ل": "L", "م": "M", "ن": "N", "ر": "R", **dict.fromkeys("هح", "H"),
        **dict.fromkeys("اويءئؤع", ""),
    }
)  # fmt: skip
_ARTICLE = re.compile(r"^(?:[وف]?[بكل]?ال|[وف]?لل)(?=\w{3,})")
_ARABIC_WORD = re.compile(r"[\u0621-\u064a\u0671-\u06d3]+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"\d{2,}")
MIN_CONSONANTS = 3  # shorter skeletons match too many Arabic words (most roots have three)


def _collapse(skeleton: str) -> str:
    return re.sub(r"(.)\1+", r"\1", skeleton)


def latin_skeleton(word: str) -> str:
    """The sound classes of a Latin-script word's consonants: "Broncos" → "BRNKS"."""
    word, out, i = word.lower(), [], 0
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
    """The sound classes of an Arabic-script word's consonants: «برونكوز» → "BRNKS"."""
    word = _ARTICLE.sub("", normalize(word))
    if len(word) > 3 and word.endswith("ه"):  # ة, a feminine ending, not a consonant of a name
        word = word[:-1]
    return _collapse(word.translate(_ARABIC))


def numbers(text: str) -> set[str]:
    """Numbers of two or more digits in ``text``, in Western digits."""
    return set(_NUMBER.findall(text.translate(_DIGITS)))


def name_keys(question: str) -> set[str]:
    """Skeletons of a Latin-script question's names (capitalised words after the first, acronyms), and its numbers."""
    keys = numbers(question)
    for i, word in enumerate(_LATIN_WORD.findall(question)):
        if (i > 0 and word[0].isupper()) or (len(word) > 1 and word.isupper()):
            keys |= {s for part in re.split(r"['-]", word) if len(s := latin_skeleton(part)) >= MIN_CONSONANTS}
    return keys


def arabic_keys(text: str) -> set[str]:
    """Skeletons of the Arabic-script words in ``text``, and its numbers."""
    return {arabic_skeleton(w) for w in _ARABIC_WORD.findall(text)} | numbers(text)
