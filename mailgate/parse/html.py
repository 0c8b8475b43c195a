"""HTML mail -> plain text, with nothing rendered and nothing executed.

The HTML is parsed into a small tree with the standard library parser and
walked once. Text comes out one line per block, roughly as a reader sees it
(`<br>` and blocks break lines, `<p>` paragraphs are separated by a blank
line, Outlook's `MsoNormal` paragraphs are not). Content of `<script>`,
`<style>`, `<head>` and hidden elements is dropped.

While walking, the renderer also notes where the mail client put the quoted
message (`render_html`): lines inside `<blockquote>` get a quote depth,
attribution elements ("On ... wrote:") are marked, and the first element that
starts a quoted or forwarded part (Outlook's `divRplyFwdMsg` or its top-border
header `<div>`, a Gmail forward, a Thunderbird forward container, ...) marks a
cut: that line and everything after it are quoted. The element names and
styles come from `mailgate.parse.quote_markers`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import NamedTuple, cast
from urllib.parse import unquote

from mailgate.parse import quote_markers

_VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "xml", "svg", "object", "iframe"}
)
_ASCII_SPACE = re.compile(r"[ \t\n\r\f]+")
_BLANK_RUN = re.compile(r"\n{3,}")  # one pass; replacing "\n\n\n" until none was left took log n
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_TIGHT_PARAGRAPH_STYLE = re.compile(r"margin(?:-bottom)?\s*:\s*0(?:[a-z]+)?\s*(?:;|$)", re.I)
_INDENT_STYLE = re.compile(r"border\s*:\s*none", re.I)
_CUT_MARK = re.compile("|".join(map(re.escape, quote_markers.HTML_CUT_TOKENS)))
_QUOTE_MARK = re.compile("|".join(map(re.escape, quote_markers.HTML_QUOTE_TOKENS)))
_ATTRIBUTION_MARK = re.compile("|".join(map(re.escape, quote_markers.HTML_ATTRIBUTION_TOKENS)))
_SIGNATURE_MARK = re.compile(
    "|".join(map(re.escape, quote_markers.HTML_SIGNATURE_TOKENS))
    + r"|(?<!\S)(?:"
    + "|".join(map(re.escape, quote_markers.HTML_SIGNATURE_WHOLE_TOKENS))
    + r")(?!\S)"
)
_CUT_STYLES = tuple(re.compile(pattern, re.I) for pattern in quote_markers.HTML_CUT_STYLE_PATTERNS)
_TAG_NAME = re.compile(r"[a-z][a-z0-9:-]*")
_ATTRIBUTE_NAME = re.compile(r"[a-z_:][a-z0-9_:.-]*")
_MAX_DEPTH = 400  # deeper nesting is flattened: hostile input must not exhaust the stack
MAX_QUOTE_MARKS = 32  # `>` marks written before a line, however deep its quote


class HtmlLine(NamedTuple):
    """One rendered line. `depth` is the `<blockquote>` nesting it stands in.

    A named tuple, not a frozen dataclass: dense markup renders a line per few
    bytes, and a tuple is made several times faster.
    """

    text: str
    depth: int = 0
    attribution: bool = False  # inside an element that names the quoted message's author
    bare: bool = False  # in one `<blockquote>` without attributes: maybe the sender's citation


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedHtml:
    """The lines of an HTML body and where, structurally, its quoted part starts."""

    lines: tuple[HtmlLine, ...]
    cut: int | None  # index of the first line of a quoted or forwarded part
    signature: int | None  # index of the first line of a marked signature
    rules: tuple[int, ...] = ()  # index of the first line after each `<hr>`

    def text_lines(self) -> list[str]:
        """Lines with `> ` per quote depth, as a plain-text client would quote them."""
        return [_prefixed(line) for line in self.lines]


_NO_ATTRS: dict[str, str] = {}  # shared by every element without attributes; never changed


class _Node:
    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []


class _TreeBuilder(HTMLParser):
    """A forgiving tree: unknown end tags are ignored, unclosed elements close with their parent."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self._stack = [self.root]
        # How many elements of each tag are open: an end tag of none is ignored at once,
        # instead of walking the whole stack (400 deep) for every stray `</span>`.
        self._open: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {key: value or "" for key, value in attrs} if attrs else _NO_ATTRS)
        stack = self._stack
        if tag == "p" and stack[-1].tag == "p":
            self._open["p"] -= 1  # <p> cannot nest: the open one ends here
            stack.pop()
        stack[-1].children.append(node)
        if tag not in _VOID_TAGS and len(stack) < _MAX_DEPTH:
            stack.append(node)
            self._open[tag] = self._open.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._stack[-1].children.append(_Node(tag, {key: value or "" for key, value in attrs}))

    def updatepos(self, i: int, j: int) -> int:
        """Where parsing goes on; the line and column the parser would count for
        `getpos` (never asked here) are not counted: a sixth of its time on dense tags."""
        return j

    def handle_endtag(self, tag: str) -> None:
        if not self._open.get(tag):
            return
        # Found below every element it closes: each step here is one element popped.
        for index in range(len(self._stack) - 1, 0, -1):
            if self._stack[index].tag == tag:
                for node in self._stack[index:]:
                    self._open[node.tag] -= 1
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self._stack[-1].children.append(data)


class _Renderer:
    def __init__(self) -> None:
        self.lines: list[HtmlLine] = []
        self.cut: int | None = None
        self.signature: int | None = None
        self._parts: list[str] = []
        self.rules: list[int] = []
        self._line_depth = 0
        self._line_attribution = False
        self._line_bare = False
        self.depth = 0
        self.bare = 0  # attribute-less <blockquote>s open
        self.attribution = 0
        self.pre = 0

    # -- line assembly ---------------------------------------------------

    def text(self, data: str) -> None:
        if not self.pre:
            data = _ASCII_SPACE.sub(" ", data)
            if not self._parts or self._parts[-1].endswith(" "):
                data = data.lstrip(" ")
            if not data:
                return
            self._add(data)
            return
        for index, piece in enumerate(data.split("\n")):
            if index:
                self.newline()
            if piece:
                self._add(piece)

    def _add(self, data: str) -> None:
        if not self._parts:
            self._line_depth = self.depth
            self._line_attribution = self.attribution > 0
            self._line_bare = self.depth == 1 and self.bare == 1
        self._parts.append(data)

    def _is_bare(self) -> bool:
        return self.depth == 1 and self.bare == 1

    def newline(self) -> None:
        """End the current line, even an empty one (`<br>`)."""
        if self._parts:
            depth, attribution, bare = self._line_depth, self._line_attribution, self._line_bare
        else:
            depth, attribution, bare = self.depth, self.attribution > 0, self._is_bare()
        # Leading spaces were dropped already, except in <pre>; no-break spaces count as text
        # until here (an Outlook `<p>&nbsp;</p>` is a blank line), then become spaces.
        parts = self._parts
        text = (parts[0] if len(parts) == 1 else "".join(parts)).replace("\xa0", " ").rstrip()
        self.lines.append(HtmlLine(text, depth, attribution, bare))
        self._parts = []

    def block_break(self) -> None:
        """Start a new line unless already at the start of one."""
        parts = self._parts
        if not parts:
            return
        if (parts[0] if len(parts) == 1 else "".join(parts)).strip(" "):
            self.newline()
        else:
            self._parts = []

    def paragraph_break(self) -> None:
        self.block_break()
        if self.lines and self.lines[-1].text:
            self.lines.append(_blank_line(self.depth, self._is_bare()))

    def mark_cut(self) -> None:
        self.block_break()
        if self.cut is None:
            self.cut = len(self.lines)

    def mark_rule(self) -> None:
        self.block_break()
        self.rules.append(len(self.lines))

    def mark_signature(self) -> None:
        self.block_break()
        if self.signature is None:
            self.signature = len(self.lines)


@functools.lru_cache(maxsize=64)
def _blank_line(depth: int, bare: bool) -> HtmlLine:
    return HtmlLine(text="", depth=depth, bare=bare)


# A "<" whose next "<" comes before any ">" cannot open a tag. Python's HTMLParser
# re-scans to the end of input for each of those, which is quadratic: 256 KiB of
# "<a" takes minutes. Escaped first, they are plain text, found in one pass.
_STRAY_LT = re.compile(r"<(?=[^<>]*(?:<|$))")
# Character references too long to be a code point; html.unescape raises on them.
_OVERLONG_CHARREF = re.compile(r"&#[xX]?[0-9a-fA-F]{9,};?")


def _defuse(html: str) -> str:
    html = _without_unclosed_comment(html)
    return _STRAY_LT.sub("&lt;", _OVERLONG_CHARREF.sub("\ufffd", html))


def _without_unclosed_comment(html: str) -> str:
    """Comments as browsers end them (HTML's comment states): `<!-->` and `<!--->` are
    empty comments, and one never closed runs to the end (eof-in-comment), so what
    follows it is not shown, and not read either. Python's parser reads both as
    text or markup, one element per few bytes of a hostile mail. One pass: each
    search starts after the last comment found."""
    pieces, start, kept = [], 0, 0
    while (opening := html.find("<!--", start)) != -1:
        body = opening + 4
        for empty in ("->", ">"):
            if html.startswith(empty, body):
                pieces.append(html[kept:opening])
                start = kept = body + len(empty)
                break
        else:
            closing = html.find("-->", body)
            if closing == -1:
                pieces.append(html[kept:opening])
                return "".join(pieces)
            start = closing + 3
    pieces.append(html[kept:])
    return "".join(pieces)


def _tree(html: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(_defuse(html))
    builder.close()
    return builder.root


def _is_skipped(node: _Node) -> bool:
    """Not rendered: scripts, styles, the head, and elements hidden by their style."""
    return node.tag in _SKIP_TAGS or (
        bool(node.attrs)
        and "style" in node.attrs
        and bool(_HIDDEN_STYLE.search(node.attrs["style"]))
    )


# An item of `_walk`'s stack: a node or text to enter, or an element to exit with what
# to undo (the only tuples on it).
_Work = _Node | str | tuple[_Node, tuple[str, ...]]


def _walk(root: _Node, renderer: _Renderer, seen: dict[int, int] | None = None) -> None:
    """Render the tree; with `seen`, note the line each text node and image lands on
    (by the node's id): the line it starts, or for an image between lines the one before."""
    # An explicit stack instead of recursion: a node to enter, (node, undo) to exit.
    work: list[_Work] = [root]
    while work:
        item = work.pop()
        if type(item) is tuple:
            _exit(renderer, item[0], item[1])
            continue
        if isinstance(item, str):
            if seen is not None:
                seen[id(item)] = len(renderer.lines)
            renderer.text(item)
            continue
        item = cast(_Node, item)
        if _is_skipped(item):
            continue
        if seen is not None and item.tag == "img":
            seen[id(item)] = len(renderer.lines) - (not renderer._parts)
        work.append((item, _enter(renderer, item)))
        work.extend(reversed(item.children))
    renderer.block_break()


@functools.lru_cache(maxsize=8)
def render_html(html: str) -> RenderedHtml:
    """Lines of text of an HTML body, with its quote structure.

    Cached: parsing a message renders its HTML twice (new text, whole text),
    and the result is immutable.
    """
    renderer = _Renderer()
    _walk(_tree(html), renderer)
    lines = renderer.lines
    cut = renderer.cut
    signature = renderer.signature
    return RenderedHtml(
        lines=tuple(lines),
        cut=min(cut, len(lines)) if cut is not None else None,
        signature=min(signature, len(lines)) if signature is not None else None,
        rules=tuple(min(rule, len(lines)) for rule in renderer.rules),
    )


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: one line per block, `> ` before quoted lines."""
    lines = [line.rstrip() for line in render_html(html).text_lines()]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n")


class _Text(str):
    """A text node with an identity of its own: equal strings are often one object."""

    __slots__ = ()


def html_of_lines(html: str, keep: Sequence[bool], *, images: Collection[str] = ()) -> str:
    """The HTML of `html` that renders its kept lines (`keep[i]` for `render_html(html).lines[i]`).

    Text nodes are kept when a kept line holds them; an image when the line it
    stands on (or, between lines, the line before it) is kept and its `src` is
    `cid:` one of `images` (Content-IDs; remote images are never kept). An
    element stays while it holds something kept, or nothing at all (an empty
    table cell, a `<br>`) inside a kept parent. What is never rendered (scripts,
    styles, hidden elements) is dropped. The result is well-formed but not safe:
    it still needs a sanitiser.
    """
    root = _tree(html)
    work = [root]
    while work:  # every text node gets an identity of its own
        node = work.pop()
        node.children = [_Text(child) if isinstance(child, str) else child
                         for child in node.children]  # fmt: skip
        work.extend(child for child in node.children if isinstance(child, _Node))
    seen: dict[int, int] = {}
    renderer = _Renderer()
    _walk(root, renderer, seen)
    if len(keep) != len(renderer.lines):
        raise ValueError(f"{len(keep)} lines kept of {len(renderer.lines)} rendered")
    wanted = {image.lower() for image in images}

    def kept_line(line: int) -> bool:
        return 0 <= line < len(keep) and keep[line]

    verdicts: dict[int, bool | None] = {}

    def keeps(node: _Node | str) -> bool | None:
        """True: holds kept content; False: holds only dropped content; None: holds none."""
        if isinstance(node, str):
            if not _ASCII_SPACE.sub("", node):
                return None
            return kept_line(seen.get(id(node), -1))
        if id(node) in verdicts:
            return verdicts[id(node)]
        verdict: bool | None = None
        if _is_skipped(node):
            verdict = False
        elif node.tag == "img":
            source = node.attrs.get("src", "").strip()
            ours = source[:4].lower() == "cid:" and unquote(source[4:]).lower() in wanted
            verdict = ours and kept_line(max(seen.get(id(node), 0), 0))
        else:
            for child in node.children:
                child_keeps = keeps(child)
                if child_keeps:
                    verdict = True
                    break
                if child_keeps is False:
                    verdict = False
        verdicts[id(node)] = verdict
        return verdict

    out: list[str] = []

    def write(node: _Node) -> None:
        for child in node.children:
            if isinstance(child, str):
                if keeps(child) is not False:
                    out.append(escape(child, quote=False))
                continue
            if keeps(child) is False:
                continue
            if not _TAG_NAME.fullmatch(child.tag):
                write(child)  # a name no HTML has: its content only
                continue
            attrs = "".join(f' {name}="{escape(value)}"' for name, value in child.attrs.items()
                            if _ATTRIBUTE_NAME.fullmatch(name))  # fmt: skip
            out.append(f"<{child.tag}{attrs}>")
            if child.tag not in _VOID_TAGS:
                write(child)
                out.append(f"</{child.tag}>")

    write(root)
    return "".join(out)


def _enter(renderer: _Renderer, node: _Node) -> tuple[str, ...]:
    """Apply what an element does on entry; return what its exit must undo."""
    tag = node.tag
    if not node.attrs:
        return _enter_plain(renderer, tag)
    undo: list[str] = []
    # Only an element with attributes may mark a cut, a signature or an attribution.
    marks = _marks(node)
    if _is_cut(node, marks) or _is_quote_container_without_blockquote(node, marks):
        renderer.mark_cut()
    if marks and _SIGNATURE_MARK.search(marks):
        renderer.mark_signature()
    if marks and _ATTRIBUTION_MARK.search(marks):
        renderer.block_break()
        renderer.attribution += 1
        undo.append("attribution")
    if tag == "br":
        renderer.newline()
    elif tag == "hr":
        renderer.mark_rule()
    elif tag == "blockquote" and not _is_indent(node):
        renderer.block_break()
        renderer.depth += 1
        undo.append("depth")  # with attributes: not bare
    elif tag == "p" and not _is_tight_paragraph(node):
        renderer.paragraph_break()
        undo.append("paragraph")
    elif tag in _BLOCK_TAGS:
        renderer.block_break()
    elif tag in _CELL_TAGS:
        renderer.text(" ")
    if tag == "pre":
        renderer.pre += 1
        undo.append("pre")
    return tuple(undo)


_DEPTH_BARE = ("depth", "bare")
_PARAGRAPH = ("paragraph",)
_PRE = ("pre",)


def _enter_plain(renderer: _Renderer, tag: str) -> tuple[str, ...]:
    """`_enter` of an element without attributes (most of them), in fewer steps."""
    if tag == "p":
        renderer.paragraph_break()
        return _PARAGRAPH
    if tag == "br":
        renderer.newline()
    elif tag == "hr":
        renderer.mark_rule()
    elif tag == "blockquote":  # without attributes: the sender's own citation, maybe
        renderer.block_break()
        renderer.depth += 1
        renderer.bare += 1
        return _DEPTH_BARE
    elif tag in _BLOCK_TAGS:
        renderer.block_break()
        if tag == "pre":
            renderer.pre += 1
            return _PRE
    elif tag in _CELL_TAGS:
        renderer.text(" ")
    return ()


def _exit(renderer: _Renderer, node: _Node, undo: tuple[str, ...]) -> None:
    if node.tag in _BLOCK_TAGS:
        renderer.block_break()
    if not undo:
        return
    if "paragraph" in undo:
        renderer.paragraph_break()
    if "depth" in undo:
        renderer.depth -= 1
    if "bare" in undo:
        renderer.bare -= 1
    if "attribution" in undo:
        renderer.block_break()
        renderer.attribution -= 1
    if "pre" in undo:
        renderer.pre -= 1


def _marks(node: _Node) -> str:
    """The element's class and id, lower case: where clients name their quote parts."""
    attrs = node.attrs
    if "class" not in attrs and "id" not in attrs:
        return ""
    return f"{attrs.get('class', '')} {attrs.get('id', '')}".lower()


def _is_cut(node: _Node, marks: str) -> bool:
    if marks and _CUT_MARK.search(marks):
        return True
    if node.tag == "hr" and ("id" in node.attrs or "tabindex" in node.attrs):
        return True  # Outlook's <hr tabindex="-1">, Hotmail's <hr id="stopSpelling">
    style = node.attrs.get("style")
    if not style or node.tag != "div":
        return False
    return any(p.search(style) for p in _CUT_STYLES)


def _is_quote_container_without_blockquote(node: _Node, marks: str) -> bool:
    """A `gmail_quote`-like element holding a forward or a quote not in a `<blockquote>`."""
    if not marks or node.tag == "blockquote" or not _QUOTE_MARK.search(marks):
        return False
    return not any(
        isinstance(child, _Node) and child.tag == "blockquote" for child in node.children
    )


def _is_indent(node: _Node) -> bool:
    """The "indent" button of WebKit and Gmail: `<blockquote style="...; border: none">`."""
    if "type" in node.attrs or node.attrs.get("class"):
        return False
    return bool(_INDENT_STYLE.search(node.attrs.get("style", "")))


def _is_tight_paragraph(node: _Node) -> bool:
    """Outlook writes every line as `<p class=MsoNormal>` with no margin."""
    if any(token.startswith("mso") for token in node.attrs.get("class", "").lower().split()):
        return True
    return bool(_TIGHT_PARAGRAPH_STYLE.search(node.attrs.get("style", "")))


def _prefixed(line: HtmlLine) -> str:
    if not line.depth:
        return line.text
    marker = quote_marks(line.depth)
    return f"{marker} {line.text}" if line.text else marker


def quote_marks(depth: int) -> str:
    """The `>` marks of a line `depth` quotes deep, at most `MAX_QUOTE_MARKS` of them:
    400 nested `<blockquote>` (13 bytes each) must not give every line 400 marks."""
    return ">" * min(depth, MAX_QUOTE_MARKS)
