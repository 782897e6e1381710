"""Answers with the real model over the seed article and a few XQuAD articles."""

import json

import numpy as np
import pytest

from index.ingest import ingest
from index.loaders import load_paths
from qa.answer import Answerer
from qa.calibration import Calibration
from qa.errors import BadQuestion
from qa.evidence import distinct, read_evidence
from qa.query import make_query, refers_back
from qa.types import Final, Sentence, Status, Token
from tests.conftest import SEED, TOWN


@pytest.fixture
def answerer(service):
    return service.answerer


@pytest.mark.parametrize("question", ["Who controls Baghouz?", "من يسيطر على الباغوز؟"])
def test_extractive_answer_quotes_and_cites_the_seed_passage(answerer, question):
    answer = answerer.answer(question)
    assert not answer.abstained and answer.backend == "extractive"
    assert answer.language == ("ar" if "؟" in question else "en")
    assert "[1]" in answer.answer and answer.citations[0].n == 1
    assert any(TOWN in c.hit.text for c in answer.citations)
    seed_text = next(a for a in load_paths([SEED])).text
    for c in answer.citations:
        assert c.quote in c.hit.text and seed_text[c.quote_start : c.quote_end] == c.quote
        assert f"«{c.quote}» [{c.n}]" in answer.answer


def test_answer_json_has_the_documented_shape(answerer):
    data = json.loads(json.dumps(answerer.answer("Who controls Baghouz?").to_dict()))
    assert set(data) == {"question", "answer", "language", "abstained", "backend", "notice", "citations", "timings_ms"}
    assert set(data["timings_ms"]) == {"retrieve", "generate", "total", "first_token"}
    assert 0 < data["timings_ms"]["first_token"] <= data["timings_ms"]["total"]
    cite = data["citations"][0]
    for key in ("n", "article_id", "title", "source", "url", "date", "text", "start", "end", "score", "supported"):
        assert key in cite


@pytest.mark.parametrize(
    "question",
    ["What is the recipe for sourdough bread?", "ما هي أفضل طريقة لزراعة الطماطم في الشتاء؟"],
)
def test_questions_the_articles_do_not_answer_are_refused_without_citations(answerer, question):
    answer = answerer.answer(question)
    assert answer.abstained and answer.citations == []
    assert answer.answer in ("I could not find this in the articles.", "لم أجد إجابة عن هذا السؤال في المقالات.")


def test_a_follow_up_borrows_the_subject_of_the_previous_question(answerer):
    history = [("Who controls Baghouz?", "...")]
    answer = answerer.answer("and who shelled it?", history=history)
    assert not answer.abstained
    assert any("قصف" in c.quote or "بالقذائف" in c.quote for c in answer.citations), answer.answer


def test_a_new_question_does_not_borrow_the_previous_subject(answerer):
    """Joined to "Who controls Baghouz?", the World Cup question found Baghouz passages and was answered."""
    answer = answerer.answer("Who won the 2018 World Cup?", history=[("Who controls Baghouz?", "...")])
    assert answer.abstained, answer.answer


@pytest.mark.parametrize(
    "question, refers",
    [
        ("and who shelled it?", True),
        ("What about the SDF?", True),
        ("ومن قصفها؟", True),
        ("ما هو عدد سكانها؟", True),
        ("Who won the 2018 World Cup?", False),
        ("What is the population of Paris?", False),
        ("ما هو عدد سكان باريس؟", False),
    ],
)
def test_which_questions_point_back(question, refers):
    assert refers_back(question) is refers


def test_the_stream_is_status_then_text_then_the_answer(answerer):
    events = list(answerer.stream("من يسيطر على الباغوز؟"))
    assert [e.stage for e in events if isinstance(e, Status)] == ["searching", "reading"]
    assert isinstance(events[-1], Final)
    assert events[-1].answer.answer == "".join(e.text for e in events if isinstance(e, Token))


@pytest.mark.parametrize("question", ["", "   \n ", "x" * 3000])
def test_empty_and_huge_questions_are_clear_errors(answerer, question):
    with pytest.raises(BadQuestion):
        answerer.answer(question)
    with pytest.raises(BadQuestion):
        next(iter(answerer.stream(question)))  # before anything is streamed


def test_abstention_follows_the_calibration(answerer):
    strict = Answerer(answerer.encoder, answerer.retriever, Calibration(2.5, 0.99, 0.9, 0.9, 3.5, 3.5))
    assert strict.answer("Who controls Baghouz?").abstained
    assert strict.answer("من يسيطر على الباغوز؟").abstained
    assert not answerer.answer("من يسيطر على الباغوز؟").abstained


def test_the_shipped_model_has_its_calibration(answerer):
    assert answerer.calibration.fitted and "XQuAD" in answerer.calibration.fitted


def test_an_arabic_question_about_english_articles_is_judged_by_the_rule_across_scripts(tmp_path, index, service_for):
    # The Arabic rule's thresholds were fitted on Arabic questions about Arabic text; across
    # scripts cosines run lower, and it refused 99 % of XQuAD's Arabic questions about its English
    # originals (docs/benchmarks.md "answerability").
    (tmp_path / "en.jsonl").write_text(
        json.dumps(
            {
                "id": "panthers",
                "lang": "en",
                "text": "The Panthers defense gave up just 308 points, ranking sixth in the league, while also "
                "leading the NFL in interceptions with 24 and boasting four Pro Bowl selections. Pro Bowl "
                "defensive tackle Kawann Short led the team in sacks with 11, while also forcing three fumbles "
                "and recovering two.",
            }
        )
        + "\n"
        + json.dumps(
            {
                "id": "rhine",
                "lang": "en",
                "text": "The Rhine flows from the Swiss Alps to the North Sea. Its course through Germany passes "
                "Cologne and Duesseldorf, and barges carry coal and grain along it.",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    ingest(load_paths([tmp_path / "en.jsonl"]), index)
    answerer = service_for(index).answerer
    answer = answerer.answer("كم نقطة تخلى عنها دفاع البانثرز؟")
    assert not answer.abstained
    assert any("308" in c.quote for c in answer.citations)
    assert answerer.answer("من فاز بكأس العالم لكرة القدم عام 2018؟").abstained


def test_english_questions_about_english_articles_are_judged_by_the_one_script_rule(tmp_path, index, service_for):
    # the rule fitted on Arabic about Arabic (confirmed on ARCD) holds for English about English; the
    # rule fitted across scripts (the passage's cosine) answered absent-article questions there
    texts = {
        "panthers": "The Panthers defense gave up just 308 points, ranking sixth in the league, while also "
        "leading the NFL in interceptions with 24. Defensive tackle Kawann Short led the team in sacks with 11, "
        "while also forcing three fumbles.",
        "warsaw": "In the Saxon Garden of Warsaw, the Summer Theatre operated from 1870 to 1939. Between the "
        "wars the complex also held Momus, the city's first literary cabaret.",
        "normans": "Viking settlers began arriving in Normandy in the 880s. Rollo's followers who settled the "
        "region included Danes, Norwegians and Anglo-Danes from the English Danelaw.",
    }
    (tmp_path / "en.jsonl").write_text(
        "\n".join(json.dumps({"id": k, "text": v, "lang": "en"}) for k, v in texts.items()), encoding="utf-8"
    )
    ingest(load_paths([tmp_path / "en.jsonl"]), index)
    answerer = service_for(index).answerer
    for question, fact in (
        ("How many points did the Panthers defense give up?", "308"),
        ("When did Viking settlers begin arriving in Normandy?", "880s"),
        ("Until when did the Summer Theatre operate?", "1939"),
    ):
        answer = answerer.answer(question)
        assert not answer.abstained and any(fact in c.quote for c in answer.citations), question
    assert answerer.answer("Where is the capital of Japan?").abstained  # passage cosine 0.78
    assert answerer.answer("How many sacks did Von Miller have in the playoffs?").abstained  # the topic, not the fact
    c = Calibration()
    assert c.answerable(False, 0.80, 0.81, 0.11) and not c.answerable(True, 0.80, 0.81, 0.11)

    # two languages in Latin script keep the passage rule: the one-script rule was never measured there
    judged = []

    class Spy(Calibration):
        def answerable(self, one_script, *args, **kwargs):
            judged.append(one_script)
            return super().answerable(one_script, *args, **kwargs)

    answerer.calibration = Spy()
    assert not answerer.answer("Combien de points la défense des Panthers a-t-elle concédés ?").abstained
    assert not answerer.answer("How many points did the Panthers defense give up?").abstained
    assert judged == [False, True]


PANTHERS = (
    "The Panthers play their home games at Bank of America Stadium in Charlotte. The stadium was renovated "
    "with new seats, video boards and escalators before the season. Defensive tackle Kawann Short led the "
    "team in sacks with 11."
)


def judged_over_panthers(tmp_path, index, service_for, questions):
    """What the refusal rule was given for each question over one English article: (coverage, number_missing)."""
    (tmp_path / "en.jsonl").write_text(json.dumps({"id": "panthers", "text": PANTHERS, "lang": "en"}), "utf-8")
    ingest(load_paths([tmp_path / "en.jsonl"]), index)
    answerer = service_for(index).answerer
    judged = []

    class Spy(Calibration):
        def answerable(self, one_script, passage, sentence, coverage, second=None, number_missing=False, **more):
            judged.append((coverage, number_missing))
            return super().answerable(one_script, passage, sentence, coverage, second, number_missing, **more)

    answerer.calibration = Spy()
    for question in questions:
        answerer.answer(question)
    return judged


def test_a_number_asked_and_none_in_the_best_sentence_costs_within_one_script(tmp_path, index, service_for):
    c = Calibration()
    assert c.answerable(True, 0.87, 0.88, 0.0) and not c.answerable(True, 0.87, 0.88, 0.0, number_missing=True)
    assert c.answerable(False, 0.78, 0.80, 0.0, second=0.3, number_missing=True)  # across scripts: not fitted there
    judged = judged_over_panthers(
        tmp_path,
        index,
        service_for,
        [
            "How many seats does the Panthers' stadium have?",  # its sentence says "new seats", no number
            "How many sacks did Kawann Short have?",  # 11
            "Where do the Panthers play their home games?",  # not a number question
        ],
    )
    assert [missing for _, missing in judged] == [True, False, False]


def test_a_misspelt_word_counts_as_held_when_the_refusal_rule_weighs_the_question(tmp_path, index, service_for):
    questions = [
        "Where do the Panthers play their home games?",
        "Where do the Panthres play their home games?",  # two letters swapped
        "Where do the Jaguars play their home games?",  # another team: not a letter off
    ]
    (right, _), (misspelt, _), (other, _) = judged_over_panthers(tmp_path, index, service_for, questions)
    assert right == misspelt == 1.0 and other < 0.9


def test_across_scripts_the_second_encoder_s_cosine_counts_when_it_is_known():
    c = Calibration()
    assert c.answerable(False, 0.78, 0.78, 0.0)  # the passage rule: 0.78 >= 0.77
    assert not c.answerable(False, 0.78, 0.78, 0.0, second=0.1)  # 1.56 + 0.015 < 1.59
    assert c.answerable(False, 0.78, 0.78, 0.0, second=0.3)  # 1.56 + 0.045 >= 1.59
    assert not c.answerable(False, 0.76, 0.80, 0.0)  # the passage rule: 0.76 < 0.77
    assert c.answerable(False, 0.76, 0.80, 0.0, second=0.25)  # 1.56 + 0.0375 >= 1.59: the second encoder decides


def test_across_scripts_names_the_passage_does_not_spell_cost(answerer):
    c = Calibration()
    assert not c.answerable(False, 0.78, 0.78, 0.0, second=0.17)  # 1.56 + 0.0255 < 1.59: names not read (Arabic)
    assert c.answerable(False, 0.78, 0.78, 0.0, second=0.17, names_missing=0.0)  # >= 1.585: a Latin question's
    assert not c.answerable(False, 0.78, 0.78, 0.0, second=0.2, names_missing=1.0)  # 1.59 - 0.02 < 1.585
    assert c.answerable(True, 0.87, 0.88, 0.0, names_missing=1.0)  # within one script words are looked up instead
    given = []

    class Spy(Calibration):
        def answerable(self, one_script, *args, names_missing=None, **kwargs):
            given.append(names_missing)
            return super().answerable(one_script, *args, names_missing=names_missing, **kwargs)

    spied = Answerer(answerer.encoder, answerer.retriever, Spy())
    for question in ("Who shelled Baghouz?", "What is the population of Paris?", "Who shelled Baghouz and Paris?"):
        spied.answer(question)  # the seed article spells Baghouz, not Paris
    spied.answer("من يسيطر على باريس؟")  # an Arabic question about the Arabic article: words count, not names
    assert given == [0.0, 1.0, 0.5, None]


def test_in_an_index_holding_both_scripts_an_arabic_question_is_answered_from_the_english_article(
    tmp_path, index, service_for
):
    # 60 Arabic passages about other teams' points, which e5 scores above the English paragraph that
    # answers (it prefers the question's language): read as one ranking, they are what is quoted
    rows = [
        {"id": f"ar{i}", "text": f"خسر فريق الاتحاد {i} نقاط في آخر ثلاث مباريات بسبب أخطاء الحراسة."}
        for i in range(60)
    ]
    rows.append(
        {
            "id": "panthers",
            "lang": "en",
            "text": "The Panthers defense gave up just 308 points, ranking sixth in the league, while also leading "
            "the NFL in interceptions with 24 and boasting four Pro Bowl selections.",
        }
    )
    (tmp_path / "mixed.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    ingest(load_paths([tmp_path / "mixed.jsonl"]), index)
    answerer = service_for(index).answerer
    question = "كم نقطة تخلى عنها دفاع البانثرز؟"
    answer = answerer.answer(question)
    assert not answer.abstained and "308" in answer.citations[0].quote
    assert answerer.answer("من فاز بكأس العالم لكرة القدم عام 2018؟").abstained
    assert answerer.answer("Who won the 2018 football World Cup?").abstained
    # the evidence's own ranking: the English sentence first only once e5's preference is taken off
    query = make_query(question, index.encoder)
    hits = answerer.retriever.search(query, 5)
    assert {h.lang for h in hits} == {"ar", "en"}
    cross, weight = answerer.retriever.cross, answerer.retriever.cross_weight
    assert "308" in read_evidence(query, hits, index.encoder, cross, weight).ranked[0].text
    assert "308" not in read_evidence(query, hits, index.encoder, cross, weight, own_script_bias=0.0).ranked[0].text
    answerer.retriever.split_scripts, answerer.retriever.own_script_bias = False, 0.0  # as before
    before = answerer.answer(question)
    assert before.abstained or not any("308" in c.quote for c in before.citations)


def test_a_sentence_two_articles_print_word_for_word_is_quoted_once_from_the_newer(tmp_path, index, service_for):
    # a wire story in two papers, and a lead sentence the first paper restates further down (as
    # ARCD's articles restate their revised paragraphs): each copy ranks the same, and all three
    # were quoted, in place of the sentences that say more
    lead = "The Panthers defense gave up just 308 points, ranking sixth in the league."
    filler = " ".join(f"The club sold {n} new season tickets in week {n}." for n in range(3, 40))
    rows = [
        {
            "id": "gazette",
            "lang": "en",
            "date": "2018-12-05",
            "text": f"{lead} No defense in the division gave up fewer points than the Panthers.\n\n{filler}\n\n{lead}",
        },
        {"id": "courier", "lang": "en", "date": "2018-12-01", "text": f"{lead} It was a cold week in Charlotte."},
    ]
    (tmp_path / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    ingest(load_paths([tmp_path / "wire.jsonl"]), index)
    answerer = service_for(index).answerer
    question = "How many points did the Panthers defense give up?"
    query = make_query(question, index.encoder)
    hits = answerer.retriever.search(query, 5)
    assert next(h for h in hits if lead in h.text).article_id == "courier"  # the older paper's copy ranks first...
    read = read_evidence(query, hits, index.encoder)
    assert sum(s.text == lead for s in read.sentences) >= 2  # read more than once...
    assert [s.text for s in read.ranked].count(lead) == 1  # ...ranked once
    answer = answerer.answer(question)
    assert not answer.abstained and answer.answer.count(lead) == 1, answer.answer
    assert len({c.quote for c in answer.citations}) == len(answer.citations)
    assert next(c for c in answer.citations if c.quote == lead).hit.article_id == "gazette"  # ...the newer is cited


def test_a_sentence_whose_words_a_better_one_holds_is_not_read_again():
    # ARCD's articles hold Wikipedia's revised paragraphs: the same lead with a gloss added or dropped
    texts = [
        "Albert Einstein (14 March 1879 - 18 April 1955) was a German-born theoretical physicist.",
        "Albert Einstein (German: Albert Einstein) (14 March 1879 - 18 April 1955) was a German-born physicist.",
        "Einstein was a German-born physicist.",
        "Albert Einstein died in Princeton on 18 April 1955.",  # two new words: a fact of its own
        "Einstein was a Swiss-born physicist.",  # one new word in a short sentence
    ]
    ranked = [Sentence(0, t, 0, len(t), np.zeros(2), 0.9 - i / 100, 0.9 - i / 100) for i, t in enumerate(texts)]
    assert [s.text for s in distinct(ranked)] == [texts[0], texts[3], texts[4]]
