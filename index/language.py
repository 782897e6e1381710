"""Language of a text: Arabic by script (fast, exact for our corpus), others by ``langdetect``."""

from __future__ import annotations

import unicodedata

_SAMPLE = 4000  # characters looked at; enough for a stable guess, cheap for 50 MB files


def detect_language(text: str) -> str:
    """ISO 639-1 code such as ``'ar'`` or ``'en'``; ``''`` when the text has no letters."""
    sample = text[:_SAMPLE]
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return ""
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f")
    if arabic / len(letters) >= 0.5:
        return "fa" if _looks_persian(sample) else "ar"
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0  # langdetect is random unless seeded
        return str(detect(sample)).split("-")[0]
    except LangDetectException:
        return "en" if latin / len(letters) >= 0.5 else ""


def is_arabic_script(text: str) -> bool:
    """True when most letters of ``text`` are Arabic script (queries too short for langdetect)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if "\u0600" <= c <= "\u06ff") / len(letters) >= 0.5


def _looks_persian(sample: str) -> bool:
    # پ چ ژ گ and Persian yeh/keheh are common in Persian and nearly absent from Arabic.
    persian = sum(sample.count(c) for c in "پچژگکی")
    return persian > 0.02 * max(1, len(sample.split()))


def question_language(text: str, default: str = "en") -> str:
    """Language to answer a question in: Arabic by script, others only when langdetect is confident."""
    if is_arabic_script(text):
        return "fa" if _looks_persian(text) else "ar"
    try:
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0
        best = detect_langs(text)[0]
    except (LangDetectException, IndexError):
        return default
    return str(best.lang).split("-")[0] if best.prob >= 0.9 and len(text.split()) >= 3 else default
