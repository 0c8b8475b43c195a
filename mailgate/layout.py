"""The e-mail layout's CSS, inlined into the HTML templates once, when Jinja loads them.

Mail clients drop or ignore most `<style>` sheets (Gmail's apps with other
accounts, Outlook, many webmails), so every rule of `templates/_layout.css` is
written into the elements' `style` attributes by css-inline. Doing it on the
template source rather than on each rendered message costs nothing per notice:
Jinja compiles the inlined source and caches it.

css-inline parses HTML, and Jinja syntax is not HTML, so before inlining each
Jinja tag is put out of the parser's way: in a quoted attribute value as a
plain word, elsewhere as an HTML comment, which the HTML parser keeps in place
even between table rows (text there would be moved out of the table). After
inlining the originals are put back. A source whose Jinja does not come back
whole and in order, or that has Jinja in a tag outside a quoted value
(`<td {% if x %}class="a"{% endif %}>`, say, in an admin's template), is
loaded as it is, without inlining, and a warning says so.

The `<style data-css-inline="keep">` block of the layout's `<head>` is left as
it is: media queries (dark mode, phone width) cannot be inline styles.

`NoticeEnvironment` is the Jinja environment the renderer loads them in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, MutableMapping
from typing import Any

import css_inline
from jinja2 import BaseLoader, Environment, TemplateNotFound

log = logging.getLogger(__name__)

STYLESHEET = "_layout.css"  # next to the language folders of the templates directory
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_RAW_TEXT = ("title", "style", "textarea")
_PLACEHOLDER = re.compile(r"<!--mgj(\d+)-->|mgj(\d+)x")


class LayoutError(ValueError):
    """The Jinja of a template would not survive inlining."""


def inline_template(source: str, css: str) -> str:
    """`source` with `css` inlined into its elements, its Jinja syntax unchanged.

    A whole document (one with `<html`) keeps its `<head>`; anything else is
    inlined as a fragment (a child template's blocks, an included piece)."""
    pieces: list[str] = []
    out: list[str] = []
    position = 0
    state = ("", "")  # see _scan
    for match in _JINJA.finditer(source):
        html = source[position : match.start()]
        state = _scan(html, state)
        out.append(html)
        number = len(pieces)
        pieces.append(match.group())
        if state[0] == "<" and not state[1]:
            raise LayoutError(f"Jinja in a tag, not in a quoted value: {html[-40:]}")
        word = state[0] or _in_raw_text(source, match.start())
        out.append(f"mgj{number}x" if word else f"<!--mgj{number}-->")
        position = match.end()
    out.append(source[position:])
    protected = "".join(out)
    if "<html" in protected.lower():
        inlined = css_inline.CSSInliner(extra_css=css).inline(protected)
    else:
        inlined = css_inline.inline_fragment(protected, css)
    seen: list[int] = []

    def restore(found: re.Match[str]) -> str:
        number = int(found.group(1) or found.group(2))
        seen.append(number)
        return pieces[number]

    restored = _PLACEHOLDER.sub(restore, inlined)
    if seen != list(range(len(pieces))):
        raise LayoutError("Jinja tags were moved or lost by the HTML parser")
    if source.endswith("\n") and not restored.endswith("\n"):
        restored += "\n"  # the parser drops a document's final newline
    return restored


def _in_raw_text(source: str, position: int) -> bool:
    """Inside <title> or <style>, whose text is not parsed: a comment would be text there."""
    before = source[:position].lower()
    return any(before.rfind(f"<{name}") > before.rfind(f"</{name}") for name in _RAW_TEXT)


def _scan(html: str, state: tuple[str, str]) -> tuple[str, str]:
    """(where, open quote) after `html`, from the state before it. `where` is "<" inside a
    tag, "!" inside an HTML comment (Outlook's `<!--[if mso]>`), "" in text."""
    where, quote = state
    index = 0
    while index < len(html):
        char = html[index]
        if where == "!":
            end = html.find("-->", index)
            if end < 0:
                return where, quote
            where, index = "", end + 3
            continue
        if quote:
            quote = "" if char == quote else quote
        elif where:
            if char in "\"'":
                quote = char
            elif char == ">":
                where = ""
        elif html.startswith("<!--", index):
            where, index = "!", index + 4
            continue
        elif char == "<":
            following = html[index + 1 : index + 2]
            where = "<" if following.isalpha() or following in ("/", "!") else ""
        index += 1
    return where, quote


class InliningLoader(BaseLoader):
    """Wraps the templates' loader: `.html` sources come back with the layout CSS inlined."""

    def __init__(self, loader: BaseLoader) -> None:
        self._loader = loader
        self._css: str | None = None

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self._loader.get_source(environment, template)
        if not template.endswith(".html"):
            return source, filename, uptodate
        try:
            return inline_template(source, self._stylesheet(environment)), filename, uptodate
        except (LayoutError, css_inline.InlineError, ValueError) as error:
            log.warning("template %s: CSS not inlined (%s); it is used as written", template, error)
            return source, filename, uptodate

    def _stylesheet(self, environment: Environment) -> str:
        if self._css is None:
            try:
                self._css = self._loader.get_source(environment, STYLESHEET)[0]
            except TemplateNotFound:
                self._css = ""  # a templates directory of its own without the layout
        return self._css


class NoticeEnvironment(Environment):
    """Jinja's environment, with each template's globals a plain dict rather than a
    ChainMap over the environment's: every render copies them into its context, and
    a ChainMap is copied at Python speed (a third of a small template's render).
    The renderer does not change the environment's globals once it has loaded."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}
