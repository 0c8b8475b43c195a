"""The HTML of what a sender wrote (`parse.newtext.new_html`): quote and signature cut
where the new text is cut, command lines and foreign images left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.parse.errors import MalformedMessage
from mailgate.parse.html import html_of_lines, html_to_text, render_html
from mailgate.parse.mimetree import decode
from mailgate.parse.newtext import new_html, split_reply

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

GMAIL = (
    '<div dir="ltr"><p>Hello <b>Ivan</b>,</p><ul><li>restart the PBX</li>'
    '<li>check <a href="https://x.example/a">the trunk</a></li></ul>'
    '<p><img src="cid:ii_screen@gmail" alt="screen"></p>'
    '<div class="gmail_signature"><p>Alice Smith<br>alice@support.example.org</p>'
    '<img src="cid:logo@gmail"></div></div>'
    '<div class="gmail_quote"><div class="gmail_attr">On Mon, Dec 7, 2026 at 10:00 Support '
    "&lt;support@example.org&gt; wrote:</div>"
    '<blockquote class="gmail_quote"><p>the trunk is down</p><img src="cid:quoted@gmail">'
    "</blockquote></div>"
)
OUTLOOK = (
    "<html><head><style>p.MsoNormal{margin:0}</style></head><body><div class=WordSection1>"
    "<p class=MsoNormal>Ivan,<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
    "<table class=MsoTable><tr><td><p class=MsoNormal>Port</p></td><td></td>"
    "<td><p class=MsoNormal>5060</p></td></tr></table>"
    "<p class=MsoNormal>Best regards,<o:p></o:p></p><p class=MsoNormal>Alice Smith</p>"
    "<p class=MsoNormal>+7 495 000 00 00</p>"
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
    "<p class=MsoNormal><b>From:</b> Support &lt;support@example.org&gt;<br><b>Sent:</b> "
    "Monday, December 7, 2026 10:00<br><b>Subject:</b> [REQ-1] Phones</p></div>"
    "<p class=MsoNormal>the trunk is down</p></div></body></html>"
)
THUNDERBIRD = (
    "<html><body><p>Done, see <i>below</i>.</p><p>#status waiting_for_client</p>"
    '<div class="moz-signature">-- <br>Alice</div>'
    '<div class="moz-cite-prefix">On 07.12.2026 10:00, Support wrote:<br></div>'
    '<blockquote type="cite">the trunk is down</blockquote></body></html>'
)


def test_gmail_keeps_the_answer_and_drops_signature_and_quote() -> None:
    html = new_html(GMAIL, images={"ii_screen@gmail", "logo@gmail", "quoted@gmail"})
    assert html is not None
    assert "<b>Ivan</b>" in html and "<li>restart the PBX</li>" in html
    assert '<a href="https://x.example/a">the trunk</a>' in html
    assert 'src="cid:ii_screen@gmail"' in html  # the answer's own screenshot
    for gone in ("Alice Smith", "alice@", "logo@gmail", "wrote:", "trunk is down", "quoted@"):
        assert gone not in html


def test_outlook_keeps_the_table_and_cuts_at_the_sign_off() -> None:
    html = new_html(OUTLOOK)
    assert html is not None
    assert "<table" in html and "<td></td>" in html and "5060" in html  # an empty cell stays
    for gone in ("Best regards", "Alice Smith", "+7 495", "From:", "trunk is down", "<style"):
        assert gone not in html


def test_command_lines_are_left_out_like_in_the_text() -> None:
    html = new_html(THUNDERBIRD, drop={"#status waiting_for_client"})
    assert html is not None
    assert "<i>below</i>" in html
    for gone in ("#status", "Alice", "wrote:", "trunk is down"):
        assert gone not in html


def test_an_image_is_kept_only_with_a_cid_of_the_relayed_files() -> None:
    body = '<p>See <img src="cid:a@x"> and <img src="CID:B%40x"> <img src="https://t.example/p.gif"></p>'
    html = new_html(body, images={"b@x"})
    assert html == '<p>See  and <img src="CID:B%40x"> </p>'


def test_nothing_new_is_none() -> None:
    quoted = GMAIL[GMAIL.index('<div class="gmail_quote">') :]  # a forward of ours, unchanged
    assert split_reply(None, quoted).new_text == ""
    assert new_html(quoted) is None
    assert new_html("   ") is None


def test_what_is_never_rendered_is_dropped() -> None:
    body = '<p>a</p><script>alert(1)</script><div style="display:none">preheader</div>'
    assert new_html(body) == "<p>a</p>"


def test_text_and_attributes_are_escaped_again() -> None:
    body = '<p title="a &quot;b&quot; &lt;c&gt;">1 &lt; 2 &amp; 3</p>'
    assert new_html(body) == '<p title="a &quot;b&quot; &lt;c&gt;">1 &lt; 2 &amp; 3</p>'


def test_odd_tag_and_attribute_names_do_not_survive() -> None:
    assert new_html('<p a"b="1" onclick="x">t</p><x"y>u</x"y>') == '<p onclick="x">t</p>u'


def test_keep_must_match_the_rendered_lines() -> None:
    with pytest.raises(ValueError):
        html_of_lines("<p>a</p><p>b</p>", [True])
    assert len(render_html("<p>a</p><p>b</p>").lines) == 4


def html_bodies() -> list[Path]:
    found = []
    for path in sorted(FIXTURES.glob("*/*.eml")):
        try:
            if decode(path.read_bytes()).html:
                found.append(path)
        except MalformedMessage:
            continue
    return found


@pytest.mark.parametrize("path", html_bodies(), ids=lambda path: path.name)
def test_the_html_says_what_the_new_text_of_the_same_html_says(path: Path) -> None:
    """Over the corpus: the relayed HTML, read as text, is the new text of that HTML
    (a citation the sender kept as a `<blockquote>` stays one)."""
    html = decode(path.read_bytes()).html
    assert html is not None
    expected = split_reply(None, html).new_text
    kept = new_html(html)
    got = html_to_text(kept) if kept else ""

    def lines(text: str) -> list[str]:
        return [line.lstrip("> ").strip() for line in text.splitlines() if line.strip("> ")]

    assert lines(got) == lines(expected)


ATTRIBUTION = (
    '<div class="gmail_quote"><div class="gmail_attr">On Mon, Dec 7, 2026 at 10:00 Support '
    "&lt;support@example.org&gt; wrote:</div><blockquote class=gmail_quote>old</blockquote></div>"
)
OUTLOOK_HEADER = (
    '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
    "<p class=MsoNormal><b>From:</b> Support<br><b>Sent:</b> Monday<br><b>To:</b> Ivan<br>"
    "<b>Subject:</b> Phones</p></div><p class=MsoNormal>old</p>"
)


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ('<div dir="ltr">Answer.<br><br><img src="cid:a@x"><br></div><br>' + ATTRIBUTION, True),
        ('<p class=MsoNormal>Answer.</p><p class=MsoNormal><img src="cid:a@x"></p>'
         "<p class=MsoNormal><o:p>&nbsp;</o:p></p>" + OUTLOOK_HEADER, True),
        ('<div><img src="cid:a@x"></div><div>Answer.</div>', True),
        ('<div>Answer.</div><div><br></div><div>Thanks,</div><div>Alice</div>'
         '<div><img src="cid:a@x"></div>', False),  # a logo under the sign-off
        ("<div>Answer.</div>" + ATTRIBUTION.replace("old", 'old<img src="cid:a@x">'), False),
    ],
)  # fmt: skip
def test_an_image_goes_with_the_text_it_stands_in(body: str, kept: bool) -> None:
    html = new_html(body, images={"a@x"})
    assert html is not None and "Answer." in html and "old" not in html
    assert ('src="cid:a@x"' in html) is kept
