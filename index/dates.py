"""Dates in news text, English and Arabic: article dates to ISO form, and the dates a text mentions.

News says when in many ways: ``2018-12-10``, ``10 Dec 2018``, ``December 10, 2018``,
«10 ديسمبر 2018», the Levantine «10 كانون الأول 2018», the Hijri «3 ربيع الآخر 1440 هـ» (converted
with the tabular Islamic calendar: a day either way of the sighted calendar), and relative to the
article's own date: «أمس», "yesterday", «الشهر الجاري», «كانون الأول الجاري», «أيلول الماضي»,
"last year". A :class:`Period` is a day, a month or a year, as whole ``date_int`` bounds
(``index.types.date_to_int``: 20181210, a month 20181200-20181299).

Not handled: week days ("on Tuesday"), seasons, ranges written as one phrase ("10-12 December"
gives the 12th only through its month and year), and day-first/month-first guessing beyond
"a number over 12 is the day".
"""

from __future__ import annotations

import calendar
import datetime
import math
import re
from dataclasses import dataclass

from index.arabic import WESTERN_DIGITS, normalize

_GREGORIAN = {
    1: "january jan يناير كانون الثاني",
    2: "february feb فبراير شباط",
    3: "march mar مارس اذار",
    4: "april apr ابريل نيسان",
    5: "may مايو ايار",
    6: "june jun يونيو يونيه حزيران",
    7: "july jul يوليو يوليه تموز",
    8: "august aug اغسطس اب",
    9: "september sep sept سبتمبر ايلول",
    10: "october oct اكتوبر تشرين الاول",
    11: "november nov نوفمبر تشرين الثاني",
    12: "december dec ديسمبر كانون الاول",
}
# Two-word Levantine names first, so «كانون الثاني» is not read as a stray «الثاني».
_LEVANTINE = {"كانون الثاني": 1, "تشرين الاول": 10, "تشرين الثاني": 11, "كانون الاول": 12}
_HIJRI = {
    "محرم": 1,
    "صفر": 2,
    "ربيع الاول": 3,
    "ربيع الاخر": 4,
    "ربيع الثاني": 4,
    "جمادي الاولي": 5,
    "جمادي الاول": 5,
    "جمادي الاخره": 6,
    "جمادي الثانيه": 6,
    "جمادي الاخر": 6,
    "رجب": 7,
    "شعبان": 8,
    "رمضان": 9,
    "شوال": 10,
    "ذو القعده": 11,
    "ذي القعده": 11,
    "ذو الحجه": 12,
    "ذي الحجه": 12,
}


def _month_names() -> dict[str, int]:
    names = dict(_LEVANTINE)
    for month, words in _GREGORIAN.items():
        for word in words.split():
            if word not in ("الثاني", "الاول", "كانون", "تشرين"):
                names.setdefault(word, month)
    return names


_MONTHS = _month_names()
_MONTH = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_HMONTH = "|".join(sorted(map(re.escape, _HIJRI), key=len, reverse=True))
_B, _E = r"(?<!\w)", r"(?!\w)"
_YEAR = r"(1[3-9]\d\d|20\d\d)"  # Gregorian 1300-2099 and Hijri 1300-1999 both fit
_DAY = r"(?:ال)?(?:ـ)?([0-3]?\d)(?:st|nd|rd|th)?"  # «الـ10» is normalised to «ال10»
_OF = r"(?:\s+(?:من|of))?\s+"  # «10 من كانون الأول», "10th of December"

# Each pattern: (regex on normalised text, which groups are day/month/year, calendar)
_HIJRI_MARK = r"\s*(?:هـ|ه(?!\w)|هجري)"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"{_B}(\d{{4}})[/-](\d{{1,2}})[/-](\d{{1,2}}){_HIJRI_MARK}"), "hijri_ymd"),
    (re.compile(rf"{_B}(\d{{1,2}})[/-](\d{{1,2}})[/-](\d{{4}}){_HIJRI_MARK}"), "hijri_dmy_numeric"),
    (re.compile(rf"{_B}(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_E}"), "ymd"),
    (re.compile(rf"{_B}(\d{{1,2}})[/.](\d{{1,2}})[/.](\d{{4}}){_E}"), "dmy_numeric"),
    (re.compile(rf"{_B}(\d{{4}})/(\d{{1,2}})/(\d{{1,2}}){_E}"), "ymd"),
    (re.compile(rf"{_B}{_DAY}{_OF}({_HMONTH})\s+{_YEAR}\s*(?:هـ|ه{_E}|هجري)"), "hijri_dmy"),
    (re.compile(rf"{_B}({_HMONTH})\s+{_YEAR}\s*(?:هـ|ه{_E}|هجري)"), "hijri_my"),
    (re.compile(rf"{_B}{_DAY}{_OF}({_MONTH}),?\s+(?:(?:عام|سنه)\s+)?{_YEAR}{_E}"), "dmy"),
    (re.compile(rf"{_B}({_MONTH})\s+{_DAY},?\s+{_YEAR}{_E}"), "mdy"),
    (re.compile(rf"{_B}({_MONTH}),?\s+(?:(?:من\s+)?(?:عام|سنه)\s+)?{_YEAR}{_E}"), "my"),
    (re.compile(rf"{_B}{_DAY}{_OF}({_MONTH})\s+(الجاري|الحالي|الماضي|المنصرم|المقبل|القادم){_E}"), "dm_rel"),
    (re.compile(rf"{_B}({_MONTH})\s+(الجاري|الحالي|الماضي|المنصرم|المقبل|القادم){_E}"), "m_rel"),
    (re.compile(rf"{_B}(?:in|during|عام|سنه|العام|لعام|في|خلال)\s+{_YEAR}{_E}"), "y"),
    (re.compile(rf"{_B}{_YEAR}\s*(?:م{_E}|ميلادي)"), "y"),
]
_RELATIVE_DAYS = {"امس": -1, "yesterday": -1, "اليوم": 0, "today": 0, "غدا": 1, "tomorrow": 1}
_RELATIVE_YEAR = re.compile(
    r"(?<!\w)(?:(العام|السنه) (الماضي|المنصرم|الجاري|الحالي)|(last|this) year|(هذا|هذه) (العام|السنه))(?!\w)"
)
_RELATIVE_DAY = re.compile(r"(?<!\w)(?:و?(?:امس|اليوم)|yesterday|today)(?!\w)")

_DIGIT = re.compile(r"\d")  # any script's digits
# what answers "how many" or "when" without digits: number words, week days, month names (not
# "may" or «اب», which are also a verb and «father»), on normalised text
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred"
    r"|thousand|million|billion|dozen|half|century|decade)s?\b"
    r"|(?<!\w)[وب]?(?:ال)?(?:واحد|اثن(?:ان|ين|تان|تين)|ثلاث|اربع|خمس|ست|سبع|ثمان|تسع|عشر|مائ|مئ|مائتي|مئتي"
    r"|الف|الاف|مليون|ملايين|مليار|نصف|قرن)(?:ه|ين|ون|ات|ي|ن|ا)?(?!\w)"
)
_WEEKDAY = re.compile(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"|(?<!\w)و?(?:يوم\s+)?ال(?:اثنين|ثلاثاء|اربعاء|خميس|جمعه|سبت|احد)(?!\w)"
)
_MONTH_WORD = re.compile(
    rf"{_B}(?:{'|'.join(sorted((re.escape(m) for m in _MONTHS if m not in ('may', 'اب')), key=len, reverse=True))}){_E}"
)


@dataclass(frozen=True)
class Period:
    """A day, month or year: inclusive ``date_int`` bounds and its ISO form (``2018-12-10``, ``2018-12``, ``2018``)."""

    first: int
    last: int
    iso: str

    def overlaps(self, first: int, last: int) -> bool:
        """Whether any day of this period lies in ``first..last``."""
        return self.first <= last and first <= self.last


def period(year: int, month: int = 0, day: int = 0) -> Period | None:
    """The period of a year, a month or a day; None when it is not a real date."""
    if not 1000 <= year <= 2999 or not 0 <= month <= 12 or (day and not month):
        return None
    if day:
        if day > calendar.monthrange(year, month)[1]:
            return None
        n = year * 10000 + month * 100 + day
        return Period(n, n, f"{year:04d}-{month:02d}-{day:02d}")
    if month:
        n = year * 10000 + month * 100
        return Period(n, n + 99, f"{year:04d}-{month:02d}")
    return Period(year * 10000, year * 10000 + 9999, f"{year:04d}")


def of_iso(value: str) -> Period | None:
    """The period of an ISO date ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (None otherwise)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value.strip()[:10])
    return period(int(m[1]), int(m[2] or 0), int(m[3] or 0)) if m else None


def hijri_to_gregorian(year: int, month: int, day: int) -> datetime.date:
    """The Gregorian day of a Hijri date, by the tabular Islamic calendar (may differ by a day from sighting)."""
    jd = day + math.ceil(29.5 * (month - 1)) + (year - 1) * 354 + (3 + 11 * year) // 30 + 1948439.5 - 1
    return datetime.date.fromordinal(int(jd - 1721424.5))


def iso_date(value: object) -> str:
    """An article's date in ISO form (``2018-12-10``, ``2018-12`` or ``2018``), or "" when it gives none.

    Takes what loaders meet: ISO strings and timestamps, ``datetime.date``, "10 Dec 2018",
    «10 ديسمبر 2018», Hijri dates, "10/12/2018" (day first, the way Arabic and European news write it).
    """
    if isinstance(value, datetime.date):
        return value.isoformat()[:10]
    text = str(value or "").strip()
    if not text:
        return ""
    if found := of_iso(text[:10]):
        if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?", text):
            return found.iso
    dates = find_dates(text)
    return dates[0].iso if dates else ""


def find_dates(text: str, anchor: str = "") -> list[Period]:
    """The dates ``text`` mentions, in order; relative ones ("yesterday", «الشهر الجاري») against ``anchor``.

    ``anchor``: the article's ISO date; without it relative dates are skipped.
    """
    folded = _folded(text)
    base = of_iso(anchor) if anchor else None
    found = [(start, p) for start, _, p in _named(folded, base)]
    if base is not None and base.first % 100:  # relative days need the article's day
        day = datetime.date(base.first // 10000, base.first // 100 % 100, base.first % 100)
        for m in _RELATIVE_DAY.finditer(folded):
            word = m.group(0).removeprefix("و")
            d = day + datetime.timedelta(days=_RELATIVE_DAYS[word])
            if p := period(d.year, d.month, d.day):
                found.append((m.start(), p))
    if base is not None:
        for m in _RELATIVE_YEAR.finditer(folded):
            back = 1 if (m[2] in ("الماضي", "المنصرم") or m[3] == "last") else 0
            if p := period(base.first // 10000 - back):
                found.append((m.start(), p))
    return [p for _, p in sorted(found, key=lambda x: x[0])]


def date_words(text: str) -> str:
    """The words of ``text`` that name a date (not relative ones), normalised: what a date filter answers for."""
    folded = _folded(text)
    return " ".join(folded[start:end] for start, end, _ in _named(folded, None))


def states_number(text: str) -> bool:
    """Whether ``text`` states a number, an amount or a date.

    Digits (Arabic-Indic too), number words, month and week-day names, «أمس», "yesterday": what a
    "how many…" or "when…" question needs from the sentence that answers it.
    """
    folded = _folded(text)
    return any(p.search(folded) for p in (_DIGIT, _NUMBER_WORD, _WEEKDAY, _MONTH_WORD, _RELATIVE_DAY, _RELATIVE_YEAR))


def _folded(text: str) -> str:
    return normalize(text.translate(WESTERN_DIGITS)).replace("ـ", "")


def _named(folded: str, base: Period | None) -> list[tuple[int, int, Period]]:
    """The dates a folded text names, with their spans (``base`` reads those relative to the article)."""
    found: list[tuple[int, int, Period]] = []
    for pattern, kind in _PATTERNS:
        for m in pattern.finditer(folded):
            if any(a < m.end() and m.start() < b for a, b, _ in found):
                continue  # part of a longer date already read ("10 December 2018" is not also "December 2018")
            if (p := _read(kind, m.groups(), base)) is not None:
                found.append((m.start(), m.end(), p))
    return found


def _read(kind: str, g: tuple[str | None, ...], base: Period | None) -> Period | None:
    if kind == "ymd":
        return period(int(g[0] or 0), int(g[1] or 0), int(g[2] or 0))
    if kind == "dmy_numeric":
        a, b, year = int(g[0] or 0), int(g[1] or 0), int(g[2] or 0)
        return period(year, b, a) if b <= 12 else period(year, a, b)  # day first unless it cannot be
    if kind.startswith("hijri"):
        if kind == "hijri_ymd":
            hyear, hmonth, hday = int(g[0] or 0), int(g[1] or 0), int(g[2] or 0)
        elif kind == "hijri_dmy_numeric":
            hday, hmonth, hyear = int(g[0] or 0), int(g[1] or 0), int(g[2] or 0)
        elif kind == "hijri_dmy":
            hday, hmonth, hyear = int(g[0] or 0), _HIJRI[str(g[1])], int(g[2] or 0)
        else:
            hday, hmonth, hyear = 1, _HIJRI[str(g[0])], int(g[1] or 0)
        if not (1 <= hday <= 30 and 1 <= hmonth <= 12 and 1 <= hyear):
            return None
        try:
            d = hijri_to_gregorian(hyear, hmonth, hday)
        except ValueError:
            return None
        if kind == "hijri_my":  # a Hijri month straddles two Gregorian ones: keep the one it starts in
            return period(d.year, d.month)
        return period(d.year, d.month, d.day)
    if kind == "dmy":
        return period(int(g[2] or 0), _MONTHS[str(g[1])], int(g[0] or 0))
    if kind == "mdy":
        return period(int(g[2] or 0), _MONTHS[str(g[0])], int(g[1] or 0))
    if kind == "my":
        return period(int(g[1] or 0), _MONTHS[str(g[0])])
    if kind == "y":
        return period(int(g[0] or 0))
    if base is None:
        return None
    day, name, when = (int(g[0] or 0), g[1], g[2]) if kind == "dm_rel" else (0, g[0], g[1])
    month, year, anchor_month = _MONTHS[str(name)], base.first // 10000, base.first // 100 % 100
    if when in ("الماضي", "المنصرم") and month >= (anchor_month or 13):
        year -= 1  # «أيلول الماضي» in a December article: this September; in an August one: last year's
    elif when in ("المقبل", "القادم") and anchor_month and month <= anchor_month:
        year += 1
    return period(year, month, day)
