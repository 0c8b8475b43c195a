"""An agent's HTML answer made safe to relay to a client: an allow-list, with nh3.

nh3 is the Python binding of Ammonia (Rust, html5ever's parser): it parses the
HTML as a browser would and writes back only the tags and attributes listed
here, so what a client's mail program shows is the agent's formatting (lists,
bold, links, tables, headings, quotes, code, pasted images) and nothing that
runs, loads or restyles: no scripts, no `style`, no event handlers, no forms,
no remote images (a tracking pixel, a `data:` image), no `cite` URL. Links keep their target
and get `rel="noopener noreferrer"`; only http, https and mailto links stay.
Images and `<pre>` get a fixed style that keeps them within a phone's width.
An image stays only when its `src` is the `cid:` of a file the notice carries,
rewritten to that file's new Content-ID.

Imported only to render a relayed HTML answer, and nh3 only inside
`sanitize_answer`: plain-text mail never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote, unquote

from markupsafe import Markup

TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
     "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
     "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong",
     "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "abbr": {"title"},
}  # no `cite` on <blockquote> or <q>: a URL to anywhere, which some clients fetch or follow
# Removed with what they hold (`TAGS` unwraps the rest, keeping their text).
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "title", "head", "template", "noscript", "textarea", "select", "option",
     "iframe", "object", "embed", "svg", "math", "button"}
)  # fmt: skip
# Set on every such element, whatever the agent's client wrote: a pasted 1600-pixel
# screenshot or a long log line must not make a phone scroll sideways, also where the
# layout's <style> is dropped by the client.
FIXED_STYLES = {
    "img": {"style": "max-width: 100%; height: auto;"},
    "pre": {"style": "white-space: pre-wrap; overflow-wrap: break-word;"},
}
LINK_SCHEMES = ("http:", "https:", "mailto:")
_NUMBER = re.compile(r"\d{1,4}")


def sanitize_answer(
    html: str,
    *,
    cids: Mapping[str, str],
    hidden: Sequence[str] = (),
    instead: str = "",
) -> Markup:
    """`html` reduced to the allow-list, its images' `cid:` sources mapped by `cids`
    (lower-case Content-ID of the agent's mail -> Content-ID in the notice), and each
    address of `hidden` replaced by `instead` (the agent's own address never reaches
    a client)."""
    import nh3  # here: only a relayed HTML answer pays for loading it

    def attribute(tag: str, name: str, value: str) -> str | None:
        if name == "src":  # only <img> has one here
            if value[:4].lower() != "cid:":
                return None
            mapped = cids.get(unquote(value[4:]).strip().lower())
            return f"cid:{mapped}" if mapped else None
        if name == "href":
            return value if value.strip().lower().startswith(LINK_SCHEMES) else None
        if name in ("width", "height"):
            return value if _NUMBER.fullmatch(value.strip()) else None
        return value

    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=attribute,
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={tag: dict(values) for tag, values in FIXED_STYLES.items()},
        strip_comments=True,
    )
    cleaned = _IMAGE.sub(lambda tag: tag[0] if ' src="' in tag[0] else "", cleaned)
    return Markup(hide_addresses(cleaned, hidden, instead).strip())


# nh3 writes every attribute as name="value" with `"` escaped: a tag is matched whole.
# An image whose source was refused is dropped, not left as an empty frame.
_IMAGE = re.compile(r'<img(?:\s+[a-z-]+="[^"]*")*\s*/?>')


def hide_addresses(text: str, hidden: Sequence[str], instead: str) -> str:
    """`text` with every address of `hidden` (also percent-encoded, as in a mailto: link)
    replaced by `instead`, whatever its case."""
    for address in hidden:
        if not address:
            continue
        for form in {address, quote(address, safe="")}:
            text = re.sub(re.escape(form), instead, text, flags=re.IGNORECASE)
    return text
