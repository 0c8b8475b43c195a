"""The layout's CSS is inlined into the HTML templates when Jinja loads them (mailgate.layout)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment, FileSystemLoader

from mailgate.config import DEFAULT_TEMPLATES_DIR
from mailgate.layout import STYLESHEET, InliningLoader, LayoutError, inline_template
from mailgate.notify import CLIENT_COMMANDS
from mailgate.parse.commands import scan_commands
from mailgate.parse.html import html_to_text
from tests.unit.test_notify import ALL_PAIRS, OPEN_CLIENT_PAIRS, make_notice, render

CSS = (DEFAULT_TEMPLATES_DIR / STYLESHEET).read_text("utf-8")
HTML_TEMPLATES = sorted(
    path.relative_to(DEFAULT_TEMPLATES_DIR).as_posix()
    for path in DEFAULT_TEMPLATES_DIR.glob("**/*.html")
)


def jinja_tags(source: str) -> list[str]:
    return list(Environment().lex(source))


@pytest.mark.parametrize("name", HTML_TEMPLATES)
def test_every_shipped_template_is_inlined_with_its_jinja_intact(name: str) -> None:
    source = (DEFAULT_TEMPLATES_DIR / name).read_text("utf-8")
    inlined = inline_template(source, CSS)  # raises LayoutError if Jinja moved
    assert 'class="' not in source or 'style="' in inlined
    kinds = [(kind, value) for _, kind, value in jinja_tags(inlined) if kind != "data"]
    assert kinds == [(kind, value) for _, kind, value in jinja_tags(source) if kind != "data"]


def test_a_class_rule_becomes_a_style_attribute_and_jinja_in_attributes_survives() -> None:
    source = '<p class="x">[{{ tag }}] <a class="x" href="{{ link }}">go</a></p>'
    inlined = inline_template(source, ".x { color: #123456; }")
    assert inlined.count('style="color: #123456;"') == 2
    assert 'href="{{ link }}"' in inlined and "[{{ tag }}]" in inlined


def test_jinja_between_table_rows_stays_in_place() -> None:
    """Text there would be moved before the table by the HTML parser; a comment is not."""
    rows = "{% for row in rows %}<tr><td>{{ row }}</td></tr>{% endfor %}"
    source = f"<table><tbody>{rows}</tbody></table>"
    inlined = inline_template(source, "td { padding: 1px; }")
    rendered = Environment().from_string(inlined).render(rows=["a", "b"])
    assert rendered.count("<tr>") == 2 and rendered.index("<table>") < rendered.index("a")


def test_jinja_after_and_inside_html_comments_survives() -> None:
    """A quote in a comment opens no attribute value; Jinja in a comment stays a word there."""
    rows = "<table><tbody>{% for r in rows %}<tr><td>{{ r }}</td></tr>{% endfor %}</tbody></table>"
    source = f"<!-- it's Outlook's -->{rows}<!--[if mso]>{{{{ b }}}}<![endif]-->"
    inlined = inline_template(source, "td { padding: 1px; }")
    assert "<!--[if mso]>{{ b }}<![endif]-->" in inlined
    rendered = Environment().from_string(inlined).render(rows=["a"], b="B")
    assert rendered.index("<table>") < rendered.index(">a</td>")


def test_the_head_keeps_the_media_queries_that_cannot_be_inline() -> None:
    layout = (DEFAULT_TEMPLATES_DIR / "_layout.html").read_text("utf-8")
    inlined = inline_template(layout, CSS)
    assert "@media (prefers-color-scheme: dark)" in inlined
    assert '<meta name="color-scheme" content="light dark">' in inlined
    assert "{% block body %}" in inlined
    # Outlook for Windows ignores max-width: its conditional 600 px table survives inlining
    assert '<!--[if mso]><table role="presentation" width="600"' in inlined


@pytest.mark.parametrize("source", ["<p {{ attributes }}>", '<td {% if x %}class="a"{% endif %}>'])
def test_jinja_in_a_tag_outside_an_attribute_value_is_refused(source: str) -> None:
    """The parser would make an attribute of it, and put the style between its tags."""
    with pytest.raises(LayoutError):
        inline_template(source, "")


def test_a_template_that_cannot_be_inlined_is_used_as_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = "<p {{ attributes }}>x</p>"
    loader = InliningLoader(DictLoader({"en/odd.html": source, STYLESHEET: "p { margin: 0; }"}))
    environment = Environment(loader=loader)
    with caplog.at_level(logging.WARNING, logger="mailgate.layout"):
        template = environment.get_template("en/odd.html")
    assert template.render(attributes='id="a"') == '<p id="a">x</p>'
    assert "en/odd.html: CSS not inlined" in caplog.text


def test_text_templates_and_a_directory_without_the_stylesheet_are_left_alone(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_text('<p class="x">{{ v }}</p>', "utf-8")
    (tmp_path / "a.html").write_text('<p class="x">{{ v }}</p>', "utf-8")
    environment = Environment(loader=InliningLoader(FileSystemLoader(str(tmp_path))))
    assert environment.get_template("a.txt").render(v=1) == '<p class="x">1</p>'
    assert environment.get_template("a.html").render(v=1) == '<p class="x">1</p>'


@pytest.mark.parametrize(("language", "name"), ALL_PAIRS)
def test_notice_html_read_back_as_a_reply_carries_no_command(language: str, name: str) -> None:
    """The buttons stand on one line with each other, never a command line of their own,
    if a client's reply quotes the HTML without marking it as a quote."""
    _, _, html = render(make_notice(name, language))
    text = html_to_text(html)
    if (language, name) in OPEN_CLIENT_PAIRS:
        assert CLIENT_COMMANDS[language]["resolve"] in text
    assert not scan_commands(new_text=text, quoted_text="", subject_after_tag="").commands
