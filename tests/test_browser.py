"""The chat and the wiki embed in a real headless Chromium (Debian's, driven by Playwright).

Set SCREENSHOTS_DIR to keep the screenshots (docs/screenshots/ in the README come from here).
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, sync_playwright

from tests.servers import serve_app, serve_folder
from web import WebConfig

pytestmark = pytest.mark.slow  # not in `make test-fast`

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TOKEN = "embed-token"
ADMIN = "admin-token"


@pytest.fixture(scope="module")
def wiki(tmp_path_factory):
    """A 'wiki' page on another localhost port; its origin is allowed to frame the app."""
    folder = tmp_path_factory.mktemp("wiki")
    with serve_folder(folder) as url:
        yield folder, url


@pytest.fixture(scope="module")
def base(service, wiki):
    with serve_app(service, WebConfig(api_token=TOKEN, admin_token=ADMIN, embed_origins=(wiki[1],))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), "make test installs Debian's chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests = []  # every URL the page asked for
    page.on("request", lambda r: page.requests.append(r.url))
    yield page
    context.close()


def shot(page: Page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=tmp_path / name, full_page=True)
    if os.environ.get("SCREENSHOTS_DIR"):
        page.screenshot(path=Path(os.environ["SCREENSHOTS_DIR"]) / name, full_page=True)


def ask(where: Page | Frame, question: str, answers_before: int) -> None:
    """Type the question, send it, and wait until the answer is finished (its meta line shows)."""
    where.locator("#question textarea").fill(question)
    where.locator("#ask").click()
    where.wait_for_function(
        "n => [...document.querySelectorAll('#chat .sanad-meta')].filter(e => e.innerText.includes('·')).length > n",
        arg=answers_before,
        timeout=90_000,
    )


def directions(where: Page | Frame, selector: str) -> list[str]:
    return where.eval_on_selector_all(selector, "els => els.map(e => getComputedStyle(e).direction)")


def only_localhost(page: Page) -> None:
    outside = [u for u in page.requests if not u.startswith(("http://127.0.0.1", "data:", "blob:"))]
    assert not outside, outside


def no_token_kept(page: Page) -> None:
    """The token left the address bar, was never part of a URL, and nothing is kept in localStorage."""
    assert TOKEN not in page.url
    assert not [u for u in page.requests if TOKEN in u]
    assert page.evaluate("localStorage.length") == 0  # no run history: no questions, no token


def test_chat_in_english_and_arabic(page, base, tmp_path):
    page.goto(f"{base}/#token={TOKEN}")
    ask(page, "Who controls Baghouz?", 0)
    english = page.locator("#chat .sanad-msg").nth(1)
    assert english.locator("a.cite").first.inner_text() == "[1]"
    assert directions(page, "#chat .sanad-msg")[:2] == ["ltr", "ltr"]  # question and answer lead in English
    # the Arabic passages in the sources panel read right to left
    assert set(directions(page, "#sources .sanad-source p")) == {"rtl"}
    ask(page, "من يسيطر على الباغوز؟", 1)
    arabic_answer = page.locator("#chat .sanad-msg").nth(3)
    assert arabic_answer.evaluate("e => getComputedStyle(e.querySelector('div[dir=auto]')).direction") == "rtl"
    marker = arabic_answer.locator("a.cite").first
    assert marker.inner_text() == "[1]" and marker.evaluate("e => getComputedStyle(e).direction") == "ltr"
    marker.click()
    page.wait_for_selector("#sources .sanad-source.flash#src-2-1", timeout=5_000)
    assert "2 source" in page.locator("#chat .sanad-meta").nth(1).inner_text() or page.locator("#src-2-1").count()
    shot(page, tmp_path, "chat.png")
    only_localhost(page)
    no_token_kept(page)


def test_an_old_style_token_url_still_works_and_is_cleaned(page, base):
    page.goto(f"{base}/?token={TOKEN}")
    ask(page, "Who controls Baghouz?", 0)
    assert page.locator("#chat a.cite").count() >= 1
    assert TOKEN not in page.url  # taken out of the address bar; only the first page load carried it
    assert not [u for u in page.requests[1:] if TOKEN in u]


def test_articles_tab_uploads_with_the_admin_token(page, base, tmp_path):
    page.goto(f"{base}/#token={TOKEN}")
    page.get_by_role("tab", name="Articles").click()
    page.wait_for_selector("#stats strong", timeout=60_000)
    before = page.locator("#stats").inner_text()
    article = tmp_path / "ferry.md"
    article.write_text("# The Jeddah ferry\n\nA ferry now links Jeddah and Port Sudan twice a week.", encoding="utf-8")
    form = page.locator("form.sanad-upload")
    form.locator("input[name=admin]").fill("wrong")
    form.locator("input[type=file]").set_input_files(str(article))
    form.locator("button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('.sanad-upload-status').innerText.includes('admin token')")
    form.locator("input[name=admin]").fill(ADMIN)
    form.locator("input[name=source]").fill("browser-upload")
    form.locator("button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('.sanad-upload-status').innerText.includes('1 added')")
    page.wait_for_function(
        "() => document.querySelector('#stats').innerText.includes('browser-upload')", timeout=30_000
    )
    assert page.locator("#stats").inner_text() != before
    assert not [u for u in page.requests if ADMIN in u]


def test_embed_in_a_wiki_iframe(page, base, wiki, tmp_path):
    folder, wiki_url = wiki
    (folder / "page.html").write_text(
        f"<!doctype html><html><body><h1>Team wiki</h1>"
        f'<iframe id="sanad" src="{base}/embed/#token={TOKEN}" width="400" height="600"></iframe></body></html>',
        encoding="utf-8",
    )
    page.goto(f"{wiki_url}/page.html")
    frame = page.wait_for_selector("#sanad").content_frame()
    assert frame is not None
    frame.wait_for_selector("#question textarea", timeout=60_000)
    ask(frame, "من يسيطر على الباغوز؟", 0)
    message = frame.locator("#chat .sanad-msg").nth(1)
    assert message.locator("a.cite").count() >= 1
    assert message.evaluate("e => getComputedStyle(e.querySelector('div[dir=auto]')).direction") == "rtl"
    # compact: fits the 400 px frame without a sideways scroll bar
    assert frame.evaluate("document.scrollingElement.scrollWidth") <= 400
    # the sources sit folded under the chat; a marker opens nothing new but flashes its source
    frame.get_by_text("Sources · المصادر").click()
    frame.wait_for_selector("#sources-compact .sanad-source", timeout=10_000)  # the accordion renders on opening
    message.locator("a.cite").first.click()
    frame.wait_for_selector("#sources-compact .sanad-source.flash", timeout=5_000)
    shot(page, tmp_path, "embed.png")
    only_localhost(page)
    assert not [u for u in page.requests if TOKEN in u and "wiki" not in u and "page.html" not in u]


def test_embed_refused_without_token_and_from_other_sites(page, base, wiki, tmp_path_factory):
    folder, wiki_url = wiki
    (folder / "notoken.html").write_text(f'<iframe id="sanad" src="{base}/embed/" width="400" height="600"></iframe>')
    page.goto(f"{wiki_url}/notoken.html")
    frame = page.wait_for_selector("#sanad").content_frame()
    frame.wait_for_selector("#question textarea", timeout=60_000)
    frame.locator("#question textarea").fill("Who controls Baghouz?")
    frame.locator("#ask").click()
    # the ask request is refused (401): no answer appears, and the page says what is missing
    frame.wait_for_selector(".sanad-banner", timeout=10_000)
    assert "token" in frame.locator(".sanad-banner").inner_text()
    assert frame.locator("#chat a.cite").count() == 0

    other = tmp_path_factory.mktemp("elsewhere")
    (other / "page.html").write_text(f'<iframe id="sanad" src="{base}/embed/#token={TOKEN}"></iframe>')
    with serve_folder(other) as elsewhere:  # another port: another origin, not in SANAD_EMBED_ORIGINS
        page.goto(f"{elsewhere}/page.html")
        page.wait_for_timeout(2_000)
        blocked = page.wait_for_selector("#sanad").content_frame()
        assert blocked is None or blocked.locator("#question").count() == 0


def test_article_html_is_shown_as_text_and_never_runs(page, base, service, tmp_path):
    from index.ingest import ingest
    from index.loaders import article_from_record

    evil = article_from_record(
        {
            "id": "xss",
            "title": '<img src=x onerror="window.__xss=1">Zanzibar cloves',
            "text": "Zanzibar exports cloves <script>window.__xss=2</script> every year to India. "
            'The clove harvest <b onmouseover="window.__xss=3">begins</b> in July.',
            "source": "test",
        },
        "test",
        "xss",
    )
    ingest([evil], service.index)
    page.goto(f"{base}/#token={TOKEN}")
    ask(page, "Where does Zanzibar export cloves to?", 0)
    sources = page.locator("#sources").inner_text()
    assert "<script>window.__xss=2</script>" in sources and "<img src=x" in sources  # shown as text
    page.locator("#sources .sanad-source").first.hover()
    assert page.evaluate("window.__xss") is None  # nothing ran
