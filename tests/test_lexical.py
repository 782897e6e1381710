import pytest

from index.arabic import normalize, tokenize
from index.lexical import LexicalIndex, LexicalRow
from index.translit import name_keys


def test_normalisation_folds_diacritics_tatweel_alef_yeh_and_teh_marbuta():
    assert normalize("إِسْلامـــيّة أحمد آمال ٱلقرى") == "اسلاميه احمد امال القري"


def test_definite_article_and_attached_particles_are_stripped():
    assert tokenize("الباغوز وبالباغوز للمدرسة فالمدرسة كالبحر") == ["باغوز", "باغوز", "مدرسه", "مدرسه", "بحر"]


def test_short_words_keep_their_letters_and_stop_words_go():
    assert tokenize("من يسيطر على الباغوز؟ إلى أين") == ["يسيطر", "باغوز"]
    assert tokenize("Who controls the town of Baghouz?") == ["controls", "town", "baghouz"]


@pytest.fixture
def lexical(tmp_path):
    index = LexicalIndex(tmp_path / "lex.sqlite")
    index.add(
        [
            LexicalRow("p1", "سيطرت قسد على الباغوز التحتاني", "a1", "S1", "ar", 20181210),
            LexicalRow("p2", "قصف الحشد الشعبي بلدة الباغوز", "a1", "S1", "ar", 20181210),
            LexicalRow("p3", "افتتاح معرض الكتاب في الرياض", "a2", "S2", "ar", 20150721),
            LexicalRow("p4", "The Panthers defense gave up 308 points", "a3", "S2", "en", 20160207),
        ]
    )
    return index


def test_bm25_ranks_matching_passages_and_ignores_others(lexical):
    ids = [pid for pid, _ in lexical.search("من يسيطر على باغوز التحتاني؟", k=10)]
    assert ids[0] == "p1" and set(ids) == {"p1", "p2"}
    assert lexical.search("كلمة غير موجودة", k=5) == []
    assert lexical.search("   ", k=5) == []


def test_filters_use_chroma_syntax(lexical):
    assert [p for p, _ in lexical.search("باغوز الرياض", k=10, where={"source": "S2"})] == ["p3"]
    got = lexical.search("باغوز الرياض", k=10, where={"date_int": {"$gte": 20180101}})
    assert {p for p, _ in got} == {"p1", "p2"}
    got = lexical.search("باغوز الرياض", k=10, where={"$or": [{"article_id": "a2"}, {"lang": {"$in": ["xx"]}}]})
    assert [p for p, _ in got] == ["p3"]
    with pytest.raises(ValueError, match="cannot filter on 'colour'"):
        lexical.search("باغوز", k=5, where={"colour": "red"})


def test_delete_and_persistence(lexical, tmp_path):
    lexical.delete(["p1"])
    lexical.set_revision("r7")
    assert [p for p, _ in lexical.search("التحتاني", k=5)] == []
    reopened = LexicalIndex(tmp_path / "lex.sqlite")
    assert reopened.count() == 3 and reopened.revision == "r7"
    assert [p for p, _ in reopened.search("الحشد", k=5)] == ["p2"]


def test_languages_count_the_live_passages_and_follow_every_write(lexical):
    assert lexical.languages() == {"ar": 3, "en": 1}
    lexical.add([LexicalRow("p5", "Oil prices rose", "a4", "S2", "en", 0), LexicalRow("p1", "text", "a1", "S1", "fa")])
    assert lexical.languages() == {"ar": 2, "en": 2, "fa": 1}  # p1 replaced, not counted twice
    lexical.delete(["p4", "p5"])
    assert lexical.languages() == {"ar": 2, "fa": 1}
    lexical.add([LexicalRow("p6", "1 2 3"), LexicalRow("p6", "4 5 6", lang="en")])  # replaced within one batch
    assert lexical.languages() == {"ar": 2, "fa": 1, "en": 1}
    lexical.replace_all([LexicalRow("q1", "نص", lang="ar"), LexicalRow("q2", "123")], "r9")
    assert lexical.languages() == {"ar": 1, "": 1}


def test_the_names_leg_finds_arabic_passages_that_spell_a_latin_question_s_names(lexical):
    arabic = {"lang": {"$in": ["ar"]}}
    assert {p for p, _ in lexical.search_names(name_keys("Who controls Baghouz?"), 10, arabic)} == {"p1", "p2"}
    assert lexical.search_names(name_keys("Who controls Raqqa?"), 10, arabic) == []
    assert lexical.search_names(set(), 10) == []
    # numbers are keys in any script; the filter keeps the question's other script
    assert [p for p, _ in lexical.search_names(name_keys("Who gave up 308 points?"), 10)] == ["p4"]
    assert lexical.search_names(name_keys("Who gave up 308 points?"), 10, arabic) == []
    # built now; later writes follow, Eastern Arabic digits read as numbers
    lexical.add([LexicalRow("p5", "فاز دنفر برونكوز عام ٢٠١٦", "a4", "S1", "ar")])
    assert [p for p, _ in lexical.search_names(name_keys("Did the Broncos win?"), 10, arabic)] == ["p5"]
    assert [p for p, _ in lexical.search_names({"2016"}, 10, arabic)] == ["p5"]
    lexical.delete(["p1"])
    assert [p for p, _ in lexical.search_names(name_keys("Who controls Baghouz?"), 10, arabic)] == ["p2"]


def test_writes_after_the_first_search_are_appended_and_match_a_fresh_build(tmp_path):
    import random

    words = ["باغوز", "قسد", "داعش", "هجين", "دير", "الزور", "غاره", "مستشفي", "حقل", "نفط", "army", "town"]
    rng = random.Random(7)

    def row(i: int, version: int = 0) -> LexicalRow:
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        return LexicalRow(f"p{i}", text, f"a{i % 5}", "S", "ar" if i % 3 else "en", 20180000 + i + version)

    live = LexicalIndex(tmp_path / "live.sqlite")
    live.add([row(i) for i in range(40)])
    assert live.search("باغوز", k=3)  # built now; later writes are appended, not rebuilt
    assert live.search_names({"BKS"}, k=3)  # the names leg too
    built, names = live._model, live._names
    for step in range(30):
        live.add([row(rng.randrange(80), step) for _ in range(rng.randint(1, 6))])  # new ids and replacements
        if step % 7 == 0:
            live.delete([f"p{rng.randrange(80)}" for _ in range(3)])
    assert live._model is built and built.segments < 10  # appended, merged into few segments
    assert live._names is names and names.rows == built.rows

    fresh = LexicalIndex(tmp_path / "live.sqlite")  # the same file, read from scratch
    for query in ["باغوز قسد", "مستشفي هجين", "army town", "نفط"]:
        for where in (None, {"lang": "ar"}, {"date_int": {"$gte": 20180030}}):
            got, want = live.search(query, k=10, where=where), fresh.search(query, k=10, where=where)
            assert [round(s, 6) for _, s in got] == [round(s, 6) for _, s in want]
            assert {p for p, _ in got} == {p for p, _ in want} or len(got) == 10
    for keys in ({"BKS", "HKN"}, {"MSTSF", "NFT"}):  # "Baghouz Hajin"; «مستشفي نفط»
        for where in (None, {"lang": "ar"}):
            got, want = live.search_names(keys, k=10, where=where), fresh.search_names(keys, k=10, where=where)
            assert [round(s, 6) for _, s in got] == [round(s, 6) for _, s in want]
            assert {p for p, _ in got} == {p for p, _ in want} or len(got) == 10
