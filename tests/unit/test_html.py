"""HTML bodies: text rendering and where clients put the quoted message."""

from __future__ import annotations

import time

import pytest

from mailgate.parse.html import html_to_text, render_html
from mailgate.parse.newtext import split_reply

# -- rendering -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<div>Hello,</div><div><br></div><div>It works.</div>", "Hello,\n\nIt works."),
        ("Line one<br>Line two<br/>Line three", "Line one\nLine two\nLine three"),
        ("<p>Hello,</p><p>It works.</p>", "Hello,\n\nIt works."),
        (
            '<p class="MsoNormal">Hello,<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
            '<p class="MsoNormal">It works.<o:p></o:p></p><p class="MsoNormal">Ivan</p>',
            "Hello,\n\nIt works.\nIvan",
        ),
        ('<p style="margin:0">a</p><p style="margin:0">b</p>', "a\nb"),
        ("<div>  spaced \n  out\ttext  </div>", "spaced out text"),
        (
            "<div>Tom &amp; Jerry &lt;tom@example.org&gt; &#8212;&nbsp;ok</div>",
            "Tom & Jerry <tom@example.org> — ok",
        ),
        ("<pre>  keep\n    this</pre>", "  keep\n    this"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("<div>a<span>b</span> <b>c</b></div>", "ab c"),
    ],
    ids=[
        "gmail-divs",
        "br",
        "paragraphs",
        "outlook-msonormal",
        "tight-paragraphs",
        "whitespace",
        "entities",
        "pre",
        "table",
        "list",
        "inline",
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    "html",
    [
        "<script>Cancel request</script><div>ok</div>",
        "<style>div {}</style><div>ok</div>",
        "<head><title>Cancel request</title></head><div>ok</div>",
        '<div style="display:none">Cancel request</div><div>ok</div>',
        '<div style="display: none !important">Cancel request</div><div>ok</div>',
        "<!-- Cancel request --><div>ok</div>",
        "<!--[if gte mso 9]><xml><o:x>Cancel request</o:x></xml><![endif]--><div>ok</div>",
    ],
    ids=["script", "style", "head", "hidden", "hidden-important", "comment", "conditional"],
)
def test_invisible_content_is_dropped(html: str) -> None:
    assert html_to_text(html) == "ok"


def test_blockquote_lines_are_prefixed() -> None:
    html = "<div>new</div><blockquote><div>old</div><blockquote>older</blockquote></blockquote>"
    assert html_to_text(html) == "new\n> old\n>> older"


def test_indent_blockquote_is_not_a_quote() -> None:
    html = (
        '<div>Steps:</div><blockquote style="margin:0 0 0 40px;border:none;padding:0px">'
        "<div>Cancel request</div></blockquote>"
    )
    assert html_to_text(html) == "Steps:\nCancel request"


@pytest.mark.parametrize(
    "html",
    [
        "<div>" * 20000 + "deep" + "</div>" * 20000,
        "<blockquote>" * 5000 + "deep",
        "<b><i>" * 10000 + "deep",
        "<div><p>unclosed<div>deep</span></table></blockquote>",
        "</div></div>deep<div",
    ],
    ids=["divs", "blockquotes", "inline", "mismatched", "stray-end-tags"],
)
def test_hostile_nesting_renders(html: str) -> None:
    assert "deep" in html_to_text(html)


# -- structure: where the quote starts ------------------------------------------------------


@pytest.mark.parametrize(
    "marker",
    [
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Support</div>',
        '<div id="x_divRplyFwdMsg"><b>From:</b> Support</div>',
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">',
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        "<p><b>From:</b> Support</p></div>",
        '<div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0in 0in 0in">x</div>',
        '<hr id="stopSpelling">',
        '<hr id="zwchr">',
        '<div class="moz-forward-container">-------- Forwarded Message --------</div>',
        '<div class="gmail_quote"><div class="gmail_attr">---------- Forwarded message ---------'
        "</div></div>",
        '<div id="yahoo_quoted_8126437591" class="yahoo_quoted"><div>On Wed wrote:</div></div>',
        '<div id="mail-editor-reference-message-container"><div>x</div></div>',
    ],
    ids=[
        "owa",
        "owa-prefixed",
        "owa-hr",
        "outlook-border",
        "outlook-2007",
        "hotmail",
        "zimbra",
        "thunderbird-forward",
        "gmail-forward",
        "yahoo",
        "outlook-mac",
    ],
)
def test_structural_quote_cuts_everything_after(marker: str) -> None:
    html = f"<div>Still broken.</div>{marker}<div>Hello,</div><div>Cancel request</div>"
    rendered = render_html(html)
    assert rendered.cut == 1
    split = split_reply(None, html)
    assert split.new_text == "Still broken."
    assert "Cancel request" in split.quoted_text


def test_gmail_quote_with_blockquote_keeps_inline_answers() -> None:
    html = (
        '<div dir="ltr"><br></div><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        "On Wed, Nov 25, 2026 at 10:00 AM Support &lt;support@example.org&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote">Question one?</blockquote><div>Answer one.</div>'
        '<blockquote class="gmail_quote">Cancel request</blockquote><div>Answer two.</div></div>'
    )
    rendered = render_html(html)
    assert rendered.cut is None
    assert [line.text for line in rendered.lines if line.attribution] == [
        "On Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org> wrote:"
    ]
    assert split_reply(None, html).new_text == "Answer one.\nAnswer two."


@pytest.mark.parametrize(
    "html",
    [
        '<div>Ok</div><div class="moz-cite-prefix">Support wrote:<br></div>'
        '<blockquote type="cite">Cancel request</blockquote>',
        '<div>Ok</div><div><br><blockquote type="cite"><div>On 25 Nov 2026, at 10:00, '
        "Support &lt;support@example.org&gt; wrote:</div><br><div>Cancel request</div>"
        "</blockquote></div>",
        '<div>Ok</div><div class="protonmail_quote">On Wednesday, Support wrote:<br>'
        '<blockquote class="protonmail_quote" type="cite">Cancel request</blockquote></div>',
        "<div>Ok</div><div>&nbsp;</div><div>25.11.2026, 10:00, &quot;Поддержка&quot; "
        "&lt;support@example.org&gt;:</div><blockquote><div>Отменить заявку</div></blockquote>",
        '<div>Ok</div><div class="mail-quote-collapse"><blockquote style="border-left:1px solid '
        '#0857A6">Среда, 25 ноября 2026, 10:00 +03:00 от Поддержка:<br><div>Отменить заявку</div>'
        "</blockquote></div>",
    ],
    ids=["thunderbird", "apple", "protonmail", "yandex", "mailru"],
)
def test_client_quotes_are_removed(html: str) -> None:
    split = split_reply(None, html)
    assert split.new_text == "Ok"
    assert "Cancel request" in split.quoted_text or "Отменить заявку" in split.quoted_text


@pytest.mark.parametrize(
    "html",
    [
        "<div>Resolve this issue</div><div><br></div>"
        '<span class="gmail_signature_prefix">-- </span>'
        '<br><div class="gmail_signature">Ivan<br>Cancel request</div>',
        '<p>Resolve this issue</p><pre class="moz-signature" cols="72">Ivan\nCancel request</pre>',
        '<p>Resolve this issue</p><div class="moz-signature">-- <br>Ivan<br>Cancel request</div>',
        '<div>Resolve this issue</div><div id="Signature"><p>Ivan</p><p>Cancel request</p></div>',
        '<div>Resolve this issue</div><div id="ms-outlook-mobile-signature">Ivan</div>',
    ],
    ids=["gmail", "thunderbird-pre", "thunderbird-div", "outlook-web", "outlook-mobile"],
)
def test_marked_signature_is_removed(html: str) -> None:
    split = split_reply(None, html)
    assert split.new_text == "Resolve this issue"
    assert "Ivan" in split.signature


@pytest.mark.parametrize(
    "html",
    [
        '<div>Resolve this issue</div><div class="signature-note">Ivan</div>',
        '<div>Resolve this issue<br id="lineBreakAtBeginningOfSignature">Ivan</div>',
    ],
    ids=["longer-class", "apple-line-break"],
)
def test_signature_as_part_of_a_longer_name_is_not_a_signature(html: str) -> None:
    assert split_reply(None, html).new_text == "Resolve this issue\nIvan"


def test_a_signature_element_holding_all_the_text_does_not_empty_it() -> None:
    html = '<div id="Signature"><p>Resolve this issue</p><p>The line works.</p></div>'
    assert split_reply(None, html).new_text == "Resolve this issue\n\nThe line works."


def test_outlook_bold_header_block_without_structure_is_found_in_text() -> None:
    html = (
        '<p class="MsoNormal">Escalate: no answer for three days</p><p class="MsoNormal">&nbsp;</p>'
        '<p class="MsoNormal"><b>From:</b> Support &lt;support@example.org&gt;<br><b>Sent:</b> '
        "Wednesday, November 25, 2026 10:00 AM<br><b>To:</b> Ivan<br><b>Subject:</b> [REQ-12] x</p>"
        '<p class="MsoNormal">Cancel request</p>'
    )
    assert split_reply(None, html).new_text == "Escalate: no answer for three days"


# -- hostile HTML found by fuzzing ---------------------------------------------------


@pytest.mark.parametrize("pattern", ["<a", '<a href="', "<?", "</", "<![CDATA[", "<!--"])
def test_unclosed_constructs_are_read_in_linear_time(pattern):
    """Python's HTMLParser is quadratic on these (256 KiB of "<a" took 105 s)."""
    body = pattern * (256 * 1024 // len(pattern))
    started = time.process_time()
    html_to_text(body)
    assert time.process_time() - started < 5


def test_overlong_character_reference_does_not_crash():
    assert html_to_text("<p>a &#" + "1" * 5000 + "; b</p>") == "a \ufffd b"


def test_outlook_conditional_comments_are_still_comments():
    html = (
        "<!--[if gte mso 9]><xml><o:x/></xml><![endif]--><p>Hello <b>world</b></p><p>a &lt; b</p>"
    )
    assert html_to_text(html) == "Hello world\n\na < b"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Hello</p><!--<p>Cancel request</p>", "Hello"),  # never closed: runs to the end
        ("<p>Hello</p><!-- note --><p>there</p><!--", "Hello\n\nthere"),
        ("<p>Hi</p><!--><p>seen</p>", "Hi\n\nseen"),  # `<!-->` is an empty comment
        ("<p>Hi</p><!--[if mso]><p>x</p><![endif]--><p>seen</p>", "Hi\n\nseen"),
    ],
)
def test_a_comment_never_closed_hides_the_rest_as_browsers_do(html: str, text: str) -> None:
    assert html_to_text(html).strip() == text


def test_an_unclosed_comment_over_a_mebibyte_of_markup_costs_next_to_nothing() -> None:
    html = "<p>Hello</p><!--" + "<p>x</p>" * 131072
    started = time.process_time()
    assert html_to_text(html).strip() == "Hello"
    assert time.process_time() - started < 1.0
