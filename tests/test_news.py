"""News-aware answers: dates read in both languages, who says it and when, the newest report for "now", differing reports.

The articles are written for these tests: two dated reports per topic that disagree (who holds
a town; a death toll that rose), in Arabic and in English, answered by the real embedding
model over real Chroma and BM25 (extractive back end, and the LLM path against a fake
OpenAI-compatible server).
"""

import datetime
import json

import pytest

from index.dates import date_words, find_dates, hijri_to_gregorian, iso_date, states_number
from index.hybrid import HybridIndex
from index.ingest import ingest
from index.loaders import article_from_record
from qa.calibration import coverage
from qa.generate import Generator, chat_model
from qa.news import When, asked_when
from qa.query import asks_number
from qa.service import Filters
from tests.fakes import FakeOpenAIServer, citing

REPORTS = [
    {
        "id": "baghouz-ar-old",
        "source": "الوطن",
        "date": "11 ديسمبر 2018",  # stored as 2018-12-11
        "title": "داعش يصد هجمات قسد في الباغوز",
        "text": "تواصل قوات سوريا الديمقراطية (قسد) عملياتها العسكرية شرق دير الزور منذ ثلاثة أشهر.\n"
        "وقالت مصادر محلية إن تنظيم داعش لا يزال يسيطر على بلدة الباغوز رغم هجمات قسد المتكررة.\n"
        "ونزح مئات المدنيين من البلدة خلال الأسبوع الماضي بسبب القصف.",
    },
    {
        "id": "baghouz-ar-new",
        "source": "رويترز",
        "date": "2019-03-23",
        "title": "قسد تعلن السيطرة على الباغوز",
        "text": "أعلنت قوات سوريا الديمقراطية (قسد) سيطرتها الكاملة على بلدة الباغوز بعد طرد مسلحي تنظيم داعش منها.\n"
        "وقال متحدث باسم قسد إن المعركة الأخيرة استمرت أسابيع.\n"
        "وتقع الباغوز على الضفة الشرقية لنهر الفرات قرب الحدود العراقية.",
    },
    {
        "id": "baghouz-en-old",
        "source": "Syria Daily",
        "date": "December 11, 2018",
        "title": "Islamic State holds Baghouz",
        "text": "The Syrian Democratic Forces have fought east of Deir ez-Zor for three months.\n"
        "Local sources said Islamic State fighters still control the town of Baghouz despite repeated attacks "
        "by the SDF.\nHundreds of civilians fled the town last week because of the shelling.",
    },
    {
        "id": "baghouz-en-new",
        "source": "Reuters",
        "date": "2019-03-23",
        "title": "SDF takes Baghouz",
        "text": "The Syrian Democratic Forces declared full control of the town of Baghouz after driving the last "
        "Islamic State fighters out.\nAn SDF spokesman said the final battle lasted for weeks.\n"
        "Baghouz lies on the eastern bank of the Euphrates near the Iraqi border.",
    },
    {
        "id": "flood-ar-old",
        "source": "سكاي نيوز عربية",
        "date": "2021-07-15",
        "title": "سيول الباحة",
        "text": "ضربت سيول جارفة مدينة الباحة يوم الأربعاء.\n"
        "وقال الدفاع المدني إن 12 شخصاً لقوا حتفهم في السيول التي ضربت مدينة الباحة.\n"
        "وأغلقت السلطات عدداً من الطرق.",
    },
    {
        "id": "flood-ar-new",
        "source": "العربية",
        "date": "2021-07-18",
        "title": "ارتفاع حصيلة سيول الباحة",
        "text": "ارتفعت حصيلة ضحايا السيول في مدينة الباحة إلى 31 قتيلاً بحسب الدفاع المدني.\n"
        "وتواصل فرق الإنقاذ البحث عن مفقودين.\nوتوقعت الأرصاد هطول مزيد من الأمطار.",
    },
    {
        "id": "flood-en-old",
        "source": "Gulf Times",
        "date": "2021-07-15",
        "title": "Floods hit Al Baha",
        "text": "Flash floods hit the city of Al Baha on Wednesday.\n"
        "Civil defence said 12 people died in the floods that hit the city of Al Baha.\n"
        "The authorities closed several roads.",
    },
    {
        "id": "flood-en-new",
        "source": "Arab News",
        "date": "2021-07-18",
        "title": "Al Baha flood toll rises",
        "text": "The death toll from the floods in Al Baha rose to 31, civil defence said.\n"
        "Rescue teams are still searching for the missing.\nForecasters expect more rain.",
    },
    {
        "id": "dam-undated",
        "source": "Al Watan",
        "title": "Dam opens",
        "text": "The new dam on the Wadi Jizan river stores 71 million cubic metres of water.\n"
        "Engineers said the reservoir will irrigate farms in the valley.",
    },
]


@pytest.fixture(scope="module")
def news(tmp_path_factory, encoder, service_for):
    """The extractive service over the dated reports."""
    from index.datadir import DataDir
    from index.hybrid import IndexConfig, open_index

    index: HybridIndex = open_index(DataDir(tmp_path_factory.mktemp("news")), IndexConfig(collection="news"), encoder)
    report = ingest([article_from_record(r, f"reports[{i}]", f"r{i}") for i, r in enumerate(REPORTS)], index)
    assert report.added == len(REPORTS) and not report.rejected
    return service_for(index)


@pytest.mark.parametrize(
    "text, iso",
    [
        ("2018-12-10T08:30:00Z", "2018-12-10"),
        ("10 Dec 2018", "2018-12-10"),
        ("December 10, 2018", "2018-12-10"),
        ("10 ديسمبر 2018", "2018-12-10"),
        ("١٠ كانون الأول ٢٠١٨", "2018-12-10"),  # Levantine month, Arabic-Indic digits
        ("الرياض 15 ربيع الأول 1436 هـ الموافق 6 يناير 2015", "2015-01-06"),  # Hijri, as SaudiNewsNet dates
        ("1440/09/01 هـ", "2019-05-06"),  # numeric Hijri, as Gulf metadata writes it
        ("1/9/1440هـ", "2019-05-06"),
        ("25/12/2018", "2018-12-25"),
        ("10/12/2018", "2018-12-10"),  # day first
        ("Dec 2018", "2018-12"),
        ("2018", "2018"),
        ("sometime", ""),
    ],
)
def test_article_dates_are_read_into_iso_form(text, iso):
    assert iso_date(text) == iso


def test_hijri_dates_convert_by_the_tabular_calendar():
    assert hijri_to_gregorian(1436, 3, 15) == datetime.date(2015, 1, 6)
    assert hijri_to_gregorian(1440, 9, 1) in (datetime.date(2019, 5, 6), datetime.date(2019, 5, 5))


def test_relative_dates_are_read_against_the_articles_own_date():
    text = "قالت المصادر أمس إن المعارك بدأت عند الـ10 من كانون الأول الجاري، ومنذ الـ10 من أيلول الماضي قتل المئات."
    assert [p.iso for p in find_dates(text, "2018-12-11")] == ["2018-12-10", "2018-12-10", "2018-09-10"]
    assert [p.iso for p in find_dates("The SDF said yesterday that last year was worse.", "2019-03-23")] == [
        "2019-03-22",
        "2018",
    ]
    assert find_dates("قالت المصادر أمس", "") == []  # no anchor, no guess


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Who controls Baghouz?", "present"),
        ("Who controls Baghouz now?", "present"),
        ("Is the road still closed?", "present"),
        ("من يسيطر على الباغوز؟", "present"),
        ("من يسيطر على الباغوز حالياً؟", "present"),
        ("Who shelled Baghouz?", "any"),
        ("من كان يسيطر على الباغوز؟", "any"),
        ("Who controlled Baghouz in December 2018?", "dated"),
        ("من كان يسيطر على الباغوز في ديسمبر 2018؟", "dated"),
        ("ماذا حدث في كانون الأول 2018؟", "dated"),
    ],
)
def test_what_a_question_asks_about_time(question, kind):
    assert asked_when(question).kind == kind


def test_the_words_that_name_a_date_are_what_the_period_filter_answers_for():
    assert date_words("Who controlled Baghouz in December 2018?") == "december 2018"
    assert date_words("ماذا حدث في كانون الأول ٢٠١٨؟") == "كانون الاول 2018"
    assert date_words("What happened on 10 December 2018 and in 2019?") == "10 december 2018 in 2019"
    assert date_words("Who shelled it yesterday?") == ""  # relative: no article to anchor it
    assert coverage("Who controlled Baghouz in December 2018?", "fighters control Baghouz", None) == 0.25
    assert (
        coverage("Who controlled Baghouz in December 2018?", "fighters control Baghouz", None, "december 2018") == 0.75
    )


@pytest.mark.parametrize(
    "question, passage, exact, fuzzy",
    [
        ("متى تأسس نادي ليفيربول؟", "تأسس نادي ليفربول عام 1892", 2 / 3, 1.0),  # a letter too many
        # a clitic on one word and a pronoun on the other: one letter dropped from each
        ("كم عدد المشيعين لجنازة عبد الناصر؟", "وشيع جنازته أكثر من خمسة ملايين شخص", 0.0, 0.2),
        ("Who bought the station?", "the nation was bought", 0.5, 0.5),  # two letters apart: another word
        ("من اول فنانة مصرية تقف على مسرح؟", "أول فنانه مصريه تقف على مسرح", 1.0, 1.0),  # ة and ه are one letter
        ("اين تدور احداث روايات نجيب محفوظ؟", "تدور أحداث الرواية الأولى بعد مقتل آخر حكام", 0.4, 0.4),
        ("Who founded the Panthers?", "the Panther franchise was founded in 1993", 0.5, 1.0),  # a plural
        ("Who led the army?", "the arms were sold", 0.0, 0.0),  # four letters: exact only
    ],
)
def test_a_word_a_letter_off_is_held_only_when_asked_and_long_enough(question, passage, exact, fuzzy):
    assert coverage(question, passage, None) == pytest.approx(exact)
    assert coverage(question, passage, None, fuzzy=True) == pytest.approx(fuzzy)


@pytest.mark.parametrize(
    "question, asks",
    [
        ("How many civilians left the town?", True),
        ("When did the offensive begin?", True),
        ("In which year was it founded?", True),
        ("كم مدنياً خرجوا من الباغوز؟", True),
        ("وكم عدد القتلى؟", True),
        ("متى بدأت المعركة؟", True),
        ("في أيّ عام تأسست؟", True),
        ("Who controls Baghouz?", False),
        ("من يسيطر على الباغوز؟", False),
        ("ما حكم الصيام؟", False),  # «حكم» holds «كم»
    ],
)
def test_what_asks_for_a_number_or_a_date(question, asks):
    assert asks_number(question) is asks


@pytest.mark.parametrize(
    "sentence, states",
    [
        ("نحو 17500 مسلح", True),
        ("قتل ١٢ مدنياً", True),
        ("وصل مع ثلاثة آلاف مقاتل", True),
        ("The SDF sent three brigades.", True),
        ("The town was shelled on Tuesday.", True),
        ("قصفت البلدة أمس", True),
        ("It opened in December.", True),
        ("The fighters withdrew from the town.", False),
        ("He may leave the town.", False),  # the verb, not the month
        ("قال الفريق إن المعركة انتهت", False),  # «الفريق» is not «ألف»
        ("ستكون المعركة طويلة", False),  # «ستكون» is not «ست»
    ],
)
def test_what_states_a_number_or_a_date(sentence, states):
    assert states_number(sentence) is states


def test_a_dated_question_is_narrowed_to_its_period():
    when = asked_when("Who controlled Baghouz in December 2018?")
    assert (when.first, when.last) == (20181200, 20181299)
    assert when.where({"lang": "en"}) == {
        "$and": [{"lang": "en"}, {"$and": [{"date_int": {"$gte": 20181200}}, {"date_int": {"$lte": 20181299}}]}]
    }
    assert When().where(None) is None


@pytest.mark.parametrize(
    "question, newest, older, lead",
    [
        ("Who controls Baghouz now?", "Reuters (23 Mar 2019)", "Syria Daily (11 Dec 2018)", "The reports differ"),
        ("من يسيطر على الباغوز حالياً؟", "رويترز (23 مارس 2019)", "الوطن (11 ديسمبر 2018)", "تختلف التقارير"),
    ],
)
def test_a_present_question_cites_the_newest_report_first_and_says_the_reports_differ(
    news, question, newest, older, lead
):
    answer = news.ask(question)
    assert not answer.abstained
    first = answer.citations[0]
    assert first.n == 1 and first.hit.date == "2019-03-23"  # ISO in the API and the sources panel
    lines = answer.answer.split("\n")
    assert lines[0].startswith(lead)
    assert newest in lines[1] and lines[1].endswith("[1]")
    assert older in answer.answer and answer.answer.index(newest) < answer.answer.index(older)
    assert {c.hit.date for c in answer.citations} == {"2019-03-23", "2018-12-11"}  # both sides cited


@pytest.mark.parametrize(
    "question, source",
    [
        ("Who controlled Baghouz in December 2018?", "Syria Daily (11 Dec 2018)"),
        ("من كان يسيطر على الباغوز في ديسمبر 2018؟", "الوطن (11 ديسمبر 2018)"),
    ],
)
def test_a_dated_question_cites_the_report_of_its_period(news, question, source):
    answer = news.ask(question)
    assert answer.citations and answer.citations[0].hit.date == "2018-12-11"
    assert source in answer.answer.split("\n")[1]
    assert all(c.hit.date.startswith("2018-12") for c in answer.citations)


def test_a_dated_question_whose_period_has_no_report_is_answered_from_any_date(news):
    answer = news.ask("Who controlled Baghouz in 2017?")
    assert not answer.abstained and answer.citations


@pytest.mark.parametrize(
    "question, new, old",
    [
        ("How many people died in the Al Baha floods?", "31", "12"),
        ("كم عدد ضحايا السيول في الباحة؟", "31", "12"),
    ],
)
def test_reports_that_give_different_numbers_are_both_cited_newest_first(news, question, new, old):
    answer = news.ask(question)
    text = answer.answer
    assert text.split("\n")[0] in ("The reports differ (newest first):", "تختلف التقارير (الأحدث أولاً):")
    assert new in text and old in text and text.index(new) < text.index(old)
    assert [c.hit.date for c in answer.citations] == ["2021-07-18", "2021-07-15"]


def test_an_undated_article_says_so_and_one_report_is_no_conflict(news):
    answer = news.ask("How much water does the new dam store?")
    assert answer.answer.split("\n")[0] == "From the articles (quoted):"
    assert answer.answer.split("\n")[1].startswith("According to Al Watan (undated): «The new dam")
    assert len(answer.citations) == 1


def test_the_date_filter_keeps_only_the_period(news):
    answer = news.ask("Who controls Baghouz?", filters=Filters(date_from="2019-01", date_to="2019-12-31"))
    assert answer.citations and {c.hit.date for c in answer.citations} == {"2019-03-23"}
    assert "differ" not in answer.answer  # the older report was filtered out


def test_the_models_answer_is_attributed_and_the_other_report_cited(news, service_for):
    """The LLM path: the short answer leads with its source and date; a differing report follows, cited."""
    # the model copies the words that answer, as the prompt asks
    quote = "The Syrian Democratic Forces"
    fake = FakeOpenAIServer([citing("declared full control", "The Syrian Democratic Forces", quote=quote)])
    try:
        generator = Generator(chat_model(fake.base_url, "fake-model", "", 20.0), backend="openai")
        answer = service_for(news.index, generator).ask("Who controls Baghouz?")
    finally:
        fake.close()
    first, *rest = answer.answer.split("\n")
    assert first == "According to Reuters (23 Mar 2019): The Syrian Democratic Forces [1]"
    assert answer.backend == "openai" and answer.citations[0].hit.date == "2019-03-23"
    assert "Another report says otherwise:" in rest
    other = rest[rest.index("Another report says otherwise:") + 1]
    assert other.startswith("According to Syria Daily (11 Dec 2018): «Local sources said Islamic State")
    assert other.endswith("[2]") and answer.citations[1].hit.date == "2018-12-11"
    prompt = json.dumps(fake.requests[0]["messages"], ensure_ascii=False)
    assert "Reuters, 2019-03-23" in prompt  # the model reads who says it and when


@pytest.mark.parametrize(
    "date_from, date_to", [("2018-13", ""), ("2018-02-31", ""), ("", "2018-12-99"), ("2019", "2018")]
)
def test_impossible_or_reversed_date_ranges_are_refused(date_from, date_to):
    from qa.errors import BadRequest

    with pytest.raises(BadRequest):
        Filters(date_from=date_from, date_to=date_to).where()
