import gzip
import json

from index.loaders import decode_bytes, load_paths
from index.types import Article, Rejection
from tests.conftest import SEED

ARABIC = "قالت مصادر محلية إن القوات سيطرت على قرية الباغوز التحتاني بعد معارك عنيفة."


def _load(*paths, source=""):
    items = list(load_paths(list(paths), source=source))
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Rejection)]


def test_text_file_title_is_its_first_short_line(tmp_path):
    (tmp_path / "a.txt").write_text("عنوان الخبر\n" + ARABIC, encoding="utf-8")
    (tmp_path / "b.txt").write_text(ARABIC * 5, encoding="utf-8")  # one long line: no title line
    (tmp_path / "c.md").write_text("# Heading\n\nBody text here.", encoding="utf-8")
    articles, rejected = _load(tmp_path)
    assert rejected == []
    assert [(a.id, a.title, a.lang) for a in articles] == [
        ("a.txt", "عنوان الخبر", "ar"),
        ("b.txt", "b", "ar"),
        ("c.md", "Heading", "en"),
    ]


def test_front_matter_gives_metadata_and_is_not_text(tmp_path):
    (tmp_path / "x.md").write_text(
        '---\ntitle: "خبر"\ndate: "2018-12"\nsource: Al Watan\nurl: https://example.org/x\n---\n' + ARABIC,
        encoding="utf-8",
    )
    [article], _ = _load(tmp_path / "x.md", source="ignored")
    assert (article.title, article.date, article.source, article.url) == (
        "خبر",
        "2018-12",
        "Al Watan",
        "https://example.org/x",
    )
    assert article.text == ARABIC


def test_seed_article_loads_with_its_title_and_date():
    [article], _ = _load(SEED)
    assert article.title.startswith("رغم مرور ثلاثة أشهر")
    assert (article.date, article.source, article.lang) == ("2018-12", "", "ar")
    assert "الباغوز التحتاني" in article.text


def test_html_main_text_title_and_date(tmp_path):
    body = "<p>" + ARABIC + "</p>" + "<p>" + "وأضافت المصادر أن المعارك مستمرة في المنطقة. " * 5 + "</p>"
    (tmp_path / "page.html").write_text(
        "<html><head><title>Site | خبر عاجل</title>"
        '<meta property="article:published_time" content="2018-12-11T10:00:00Z"></head>'
        f"<body><nav><a href='/'>الرئيسية</a></nav><article><h1>خبر عاجل</h1>{body}</article>"
        "<footer>حقوق النشر محفوظة</footer></body></html>",
        encoding="utf-8",
    )
    [article], rejected = _load(tmp_path)
    assert rejected == []
    assert article.title == "خبر عاجل"
    assert article.date == "2018-12-11"
    assert ARABIC in article.text and "حقوق النشر" not in article.text


def test_jsonl_records_and_their_bad_lines_are_reported_by_line(tmp_path):
    lines = [
        json.dumps(
            {
                "id": "n1",
                "title": "T1",
                "text": ARABIC,
                "url": "https://example.org/n1",
                "date": "2015-07-21",
                "source": "S",
            }
        ),
        "{not json",
        json.dumps({"id": "n2", "title": "no text"}),
        "",
        json.dumps(["a", "list"]),
        json.dumps({"title": "T3", "text": "An English article about the markets.", "lang": "en"}),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    articles, rejected = _load(tmp_path / "feed.jsonl", source="Default")
    assert [(a.id, a.source, a.date, a.lang) for a in articles] == [
        ("n1", "S", "2015-07-21", "ar"),
        ("feed.jsonl#6", "Default", "", "en"),
    ]
    assert [r.origin.rsplit(":", 1)[1] for r in rejected] == ["2", "3", "5"]
    assert "not a JSON record" in rejected[0].reason and "no 'text'" in rejected[1].reason


def test_gzipped_jsonl_and_corrupt_gzip(tmp_path):
    with gzip.open(tmp_path / "a.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "g1", "text": ARABIC}, ensure_ascii=False) + "\n")
    (tmp_path / "b.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-not-gzip")
    articles, rejected = _load(tmp_path)
    assert [a.id for a in articles] == ["g1"]
    assert len(rejected) == 1 and "b.jsonl.gz" in rejected[0].origin and "gzip" in rejected[0].reason


def test_encodings_cp1256_bom_and_utf16_decode_to_the_same_text():
    for data in (ARABIC.encode("cp1256"), ARABIC.encode("utf-8-sig"), ARABIC.encode("utf-16")):
        assert decode_bytes(data) == ARABIC


def test_cp1256_file_loads_as_arabic(tmp_path):
    (tmp_path / "old.txt").write_bytes(("عنوان\n" + ARABIC * 3).encode("cp1256"))
    [article], _ = _load(tmp_path / "old.txt")
    assert article.title == "عنوان" and ARABIC in article.text and article.lang == "ar"


def test_binary_empty_and_unsupported_files_are_rejected_by_name(tmp_path):
    (tmp_path / "good.txt").write_text(ARABIC, encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n")
    articles, rejected = _load(tmp_path, tmp_path / "missing.txt")
    assert [a.id for a in articles] == ["good.txt"]
    reasons = {r.origin.rsplit("/", 1)[-1]: r.reason for r in rejected}
    assert "binary" in reasons["image.txt"]
    assert reasons["empty.txt"] == "no text" and reasons["blank.md"] == "no text"
    assert "unsupported" in reasons["photo.png"]
    assert "no such file" in reasons["missing.txt"]


def test_folders_are_walked_recursively_skipping_hidden_and_readme(tmp_path):
    (tmp_path / "2018" / "12").mkdir(parents=True)
    (tmp_path / "2018" / "12" / "a.txt").write_text(ARABIC, encoding="utf-8")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "b.txt").write_text(ARABIC, encoding="utf-8")
    (tmp_path / "README.md").write_text("# About these files", encoding="utf-8")
    articles, rejected = _load(tmp_path)
    assert [a.id for a in articles] == ["2018/12/a.txt"] and rejected == []
    # the same file named directly gets the same id as through its own folder
    assert [a.id for a in _load(tmp_path / "2018" / "12")[0]] == ["a.txt"]


def test_content_hash_changes_with_metadata_text_hash_only_with_text():
    a = Article(id="x", text="نص  المقال", title="t")
    b = Article(id="y", text="نص المقال", title="other")
    assert a.text_hash == b.text_hash
    assert a.content_hash != b.content_hash


def test_language_codes_are_read_as_their_language_alone(tmp_path):
    lines = [
        json.dumps({"id": "a", "text": "نص عربي قصير عن الأسواق.", "lang": "AR-eg"}),
        json.dumps({"id": "b", "text": "An English article about the markets.", "lang": "en_GB"}),
        json.dumps({"id": "c", "text": "An English article about the markets."}),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    articles, _ = _load(tmp_path / "feed.jsonl")
    assert [a.lang for a in articles] == ["ar", "en", "en"]  # the code alone says which script a passage is in
