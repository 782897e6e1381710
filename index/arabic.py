"""Arabic-aware normalisation and tokenisation for lexical (BM25) matching, and numbers in any digits.

Diacritics and tatweel are removed, alef forms (أ إ آ ٱ) become ا, ى becomes ي and ة becomes ه,
and the definite article (with attached conjunctions and prepositions: وال بال وبال فال لل …)
is stripped, so «بالباغوز» and «الباغوز» and «باغوز» meet. Latin text is lower-cased. This is
matching normalisation, not stemming: words keep their other affixes.
"""

from __future__ import annotations

import re
import unicodedata

_DIACRITICS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # harakat, Quranic marks, tatweel
_LETTER_MAP = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_TOKEN = re.compile(r"\w+")
_ARTICLE = re.compile(r"^(?:[وف]?[بكل]?ال|[وف]?لل)(?=\w{2,})")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
WESTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")  # Arabic-Indic and Persian digits
_NUMBER = re.compile(r"\d+(?:[.٫]\d+)?")
_GROUPED = re.compile(r"(?<=\d)[,،٬](?=\d{3}(?!\d))")

# Function words that carry no topic; matched after normalisation.
_STOPWORD_LIST = """
    في من على الي الى عن مع او ثم ان انه انها كان كانت يكون هذا هذه ذلك تلك التي الذي الذين هو هي هم
    ما لا لم لن قد كل بعد قبل بين حتي حيث عند اذا اذ ايضا غير دون منذ و ف ب ل ك يا اي اين متي كيف لماذا
    ماذا كم هل من هناك وقد وكان وفي ومن وعلي لقد ولم به بها له لها منه منها عليه عليها فيه فيها
    the a an of to in on at by for with from and or but is are was were be been being it its this that these
    those which who whom whose what when where why how did do does done has have had not no as than then
    into about over under after before between during there their they them he she his her i you we our
    """


def normalize(text: str) -> str:
    """Fold the text for matching: NFKC, lower case, no diacritics or tatweel, unified letters."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _DIACRITICS.sub("", text).translate(_LETTER_MAP)


def tokenize(text: str) -> list[str]:
    """Normalised content words of ``text``, definite article stripped, stop words dropped."""
    tokens = []
    for raw in _TOKEN.findall(normalize(text)):
        token = _ARTICLE.sub("", raw) if _ARABIC_LETTER.match(raw) else raw
        if token and token not in _STOPWORDS and raw not in _STOPWORDS:
            tokens.append(token)
    return tokens


def numbers_in(text: str) -> list[str]:
    """The numbers of ``text`` as digit strings: Arabic-Indic digits read, thousands separators dropped."""
    text = _GROUPED.sub("", text.translate(WESTERN_DIGITS))  # 17,500 and ١٧٥٠٠ are 17500
    return [n.replace("٫", ".") for n in _NUMBER.findall(text)]


_STOPWORDS = frozenset(normalize(w) for w in _STOPWORD_LIST.split())
