"""Every HTML notification in headless Chromium, at phone and desktop width, light and dark.

A page fails when it scrolls sideways, when a command button is missing or is
not a mailto: link with the tag and the command in its subject, when its text
part and its HTML disagree on the request's tag, status or dates, when the text
part does not name a command the HTML offers, or when its text is hard to read
(dark on dark). tests/browser/checks.py says how.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.browser.cdp import Browser
from tests.browser.checks import WIDTHS, inspect, problems
from tests.browser.samples import LONG_WORD, SENDER, TAG, Page, long_word_pages, pages
from tests.browser.screenshots import DARK, OUT

pytestmark = pytest.mark.heavy

PAGES = pages()
BY_SLUG = {page.slug: page for page in PAGES}


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_notification_reads_well_in_the_browser(
    browser: Browser, slug: str, width: int, dark: bool
) -> None:
    page = BY_SLUG[slug]
    assert (
        problems(page, inspect(browser, page, width=width, dark=dark), width=width, dark=dark) == []
    )


@pytest.mark.parametrize("page", long_word_pages(), ids=lambda page: page.slug)
def test_a_long_unbroken_subject_or_text_wraps_on_a_phone(browser: Browser, page: Page) -> None:
    assert LONG_WORD in inspect(browser, page, width=375, dark=False)["text"].replace("\n", "")
    assert found(browser, page) == ""


@pytest.mark.parametrize("language", ["en", "ru"])
def test_an_answer_written_in_html_keeps_its_list_and_table(
    browser: Browser, language: str
) -> None:
    page = BY_SLUG[f"{language}-agent-answer-html"]
    browser.show(page.html, width=375, dark=False)
    shape = browser.evaluate(
        "[...document.querySelectorAll('.mg-answer li, .mg-answer td, .mg-answer script')]"
        ".map(el => el.tagName + ':' + getComputedStyle(el).borderLeftStyle)"
    )
    assert shape == ["LI:none", "LI:none", "TD:solid", "TD:solid", "TD:solid"]
    assert "alice@agent.example.org" not in page.html + page.text


def test_every_template_of_both_languages_is_among_the_pages() -> None:
    from tests.unit.test_notify import AGENT_CASES, CLIENT_CASES

    names = {(page.language, page.name) for page in PAGES}
    for language in ("en", "ru"):
        assert {(language, name) for name in [*CLIENT_CASES, "check_test"]} <= names
    assert {("en", name) for name in AGENT_CASES} <= names
    assert sum(bool(page.commands) for page in PAGES) >= 10  # the open requests' notices


def test_the_screenshots_in_the_docs_are_there_and_small() -> None:
    """`python -m tests.browser.screenshots` writes them; the docs show them."""
    expected = {f"{page.slug}-{width}.png" for page in PAGES for width in WIDTHS}
    expected |= {f"{page.slug}-{WIDTHS[0]}-dark.png" for page in PAGES if page.name in DARK}
    shots = {path.name: path.stat().st_size for path in OUT.glob("*.png")}
    assert expected <= set(shots)
    # 107 screenshots since the notices of SPEC §15–16 (5.3 MiB): a budget, not a quality bar.
    assert sum(shots.values()) < 7 * 1024 * 1024
    readme = (OUT / "README.md").read_text("utf-8")
    assert {name for name in expected if f"({name})" not in readme} == set()
    for name in ("en-created-375.png", "en-created-1024.png", "en-agent-answer-375.png",
                 "en-agent-answer-1024.png"):  # fmt: skip
        assert f"![{name.removesuffix('.png')}]({name})" in readme  # shown, not only linked


# -- the checks catch what they are for -----------------------------------------------------

CREATED = BY_SLUG["en-created"]


def broken(html_from: str, html_to: str, page: Page = CREATED) -> Page:
    assert html_from in page.html
    return replace(page, html=page.html.replace(html_from, html_to, 1))


def found(browser: Browser, page: Page, *, width: int = 375, dark: bool = False) -> str:
    return "\n".join(
        problems(page, inspect(browser, page, width=width, dark=dark), width=width, dark=dark)
    )


def test_a_page_wider_than_the_phone_is_caught(browser: Browser) -> None:
    page = broken(';">Hello,</p>', ';width: 500px;">Hello,</p>')
    assert "scrolls sideways: 5" in found(browser, page)
    assert found(browser, page, width=1024) == ""


def test_a_missing_or_wrong_command_button_is_caught(browser: Browser) -> None:
    resolve = f"mailto:{SENDER.address}?subject=%5BREQ-12%5D%20Resolve%20this%20issue"
    assert resolve in CREATED.html
    wrong = found(browser, broken(resolve, "https://example.org/resolve"))
    assert "is not a command mailto: https://example.org/resolve" in wrong
    assert f"no button mailto:{SENDER.address} with the subject '{TAG} Resolve this issue'" in wrong
    other_address = found(browser, broken(resolve, resolve.replace("support@", "other@")))
    assert "Resolve this issue" in other_address


def test_text_and_html_that_disagree_on_the_facts_are_caught(browser: Browser) -> None:
    assert "status: text part ['new'], HTML badge 'closed'" in found(
        browser, broken(">new</span>", ">closed</span>")
    )
    without_cancel = replace(CREATED, text=CREATED.text.replace(" | Cancel request", ""))
    assert "the text part's footer does not offer 'Cancel request'" in found(
        browser, without_cancel
    )
    dated = BY_SLUG["en-awaiting-confirmation"]
    assert "dates: text part ['2026-12-10 10:00 MSK'], HTML ['2026-12-11 10:00 MSK']" in found(
        browser, broken("2026-12-10 10:00 MSK", "2026-12-11 10:00 MSK", dated)
    )


def test_dark_text_on_the_dark_background_is_caught(browser: Browser) -> None:
    page = broken(';">Hello,</p>', ';color: #222 !important;">Hello,</p>')
    assert "main text 'Hello,': contrast 1." in found(browser, page, dark=True)
    assert found(browser, page) == ""


def test_screenshot_is_a_png_cropped_to_the_mail(browser: Browser, tmp_path: Path) -> None:
    browser.show(CREATED.html, width=375, dark=False)
    browser.screenshot(tmp_path / "shot.png", width=375)
    data = (tmp_path / "shot.png").read_bytes()
    assert data.startswith(b"\x89PNG")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 375 and 300 < height < 2000
