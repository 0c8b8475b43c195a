"""The reply shapes of issue 21, each rule on its own, with its limit; and the
hostile repetitions of them staying fast. The client mail is in the reply corpus
(tests/fixtures/replies, the notes name issue 21)."""

from __future__ import annotations

import time

import pytest

from mailgate.parse.commands import find_commands
from mailgate.parse.newtext import split_reply


def new(plain: str) -> str:
    return split_reply(plain, None).new_text


def new_html(html: str) -> str:
    return split_reply(None, html).new_text


# -- plain <blockquote>s: quotes for commands -----------------------------------------------


def test_a_plain_blockquote_holding_a_command_is_a_quote() -> None:
    html = (
        "<div>Thanks, we will try tomorrow.</div><blockquote><div>Support Team</div>"
        "<div>Cancel request</div></blockquote><div>Olga</div>"
    )
    assert new_html(html) == "Thanks, we will try tomorrow.\nOlga"


def test_a_plain_blockquote_holding_a_weak_attribution_is_a_quote() -> None:
    html = (
        "<div>Any day is fine.</div><blockquote><div>Support Team wrote:</div>"
        "<div>When can we come?</div></blockquote><div>Tuesday works best.</div>"
    )
    assert new_html(html) == "Any day is fine.\nTuesday works best."


def test_a_plain_blockquote_holding_an_approval_is_a_quote() -> None:
    html = (
        "<div>Hello,</div><blockquote>Everything works, the request can be closed.</blockquote>"
        "<div>That is what my colleague wrote, but it does not.</div>"
    )
    text = new_html(html)
    assert "can be closed" not in text
    assert find_commands(new_text=text, subject_after_tag="") == ()


def test_the_senders_emphasis_stays() -> None:
    html = (
        "<div>Open the phone's web page and enter:</div><blockquote>tftp://prov.example/f.rom"
        "</blockquote><div>Then restart it.</div>"
    )
    assert new_html(html) == (
        "Open the phone's web page and enter:\ntftp://prov.example/f.rom\nThen restart it."
    )


def test_the_whole_body_in_a_blockquote_with_an_attribution_gives_no_command() -> None:
    html = (
        "<blockquote><div>Don't notify me</div><div>On Monday, Support wrote:</div>"
        "<div>Hello</div></blockquote>"
    )
    assert new_html(html) == ""
    html = "<blockquote><div>Fine, thanks.</div><div>On Monday, Support wrote:</div>"
    assert new_html(html + "<div>Hello</div></blockquote>") == "Fine, thanks."


def test_a_plain_part_without_quote_marks_keeps_no_command_the_html_quotes() -> None:
    plain = "It works now.\n\nHi Anna,\nplease check.\n\nCancel request\n"
    html = (
        "<div>It works now.</div><blockquote><div>Hi Anna,</div><div>please check the routing"
        " of the menu once more</div><div>Cancel request</div></blockquote>"
    )
    split = split_reply(plain, html)
    assert find_commands(new_text=split.new_text, subject_after_tag="") == ()


# -- the exact-text kinds ----------------------------------------------------------------


@pytest.mark.parametrize(
    "footer",
    [
        "__\nvoip mailing list\nhttps://lists.example.org/listinfo/voip",
        "voip mailing list\nvoip@lists.example.org\nhttps://lists.example.org/mailman/listinfo/voip",
        "voip mailing list -- voip@lists.example.org\nTo unsubscribe: voip-leave@lists.example.org",
    ],
)
def test_list_footers(footer: str) -> None:
    assert new(f"The trunk is up.\n\n{footer}\n") == "The trunk is up."


def test_mailing_list_in_a_sentence_stays() -> None:
    plain = "Is the trunk up?\n\nI asked on the voip mailing list too.\nNobody answered there.\n"
    assert new(plain) == plain.strip()


@pytest.mark.parametrize(
    "line",
    [
        "Sent from TypeApp<http://www.typeapp.com/r?b=14785>",
        "Sent from TypeApp ‹http://www.typeapp.com/r?b=14785›",
        "Sent from my Galaxy (https://example.org/r?x=1)",
    ],
)
def test_a_device_line_with_its_link(line: str) -> None:
    assert new(f"Resolve this issue\n\n{line}\n") == "Resolve this issue"


def test_a_device_like_sentence_with_a_link_stays() -> None:
    plain = "Sent from my office, the logs are here, see <https://example.org/logs?id=1>\n"
    assert new(plain) == plain.strip()


@pytest.mark.parametrize("rule", ["------------------------------", "__________", "=========="])
def test_a_rule_line_between_the_text_and_the_quote(rule: str) -> None:
    attribution = "On Tue, Dec 8, 2026 at 10:00 AM Support <s@x.example> wrote:"
    plain = f"Thursday works.\n{rule}\n{attribution}\n> Hi\n"
    assert new(plain) == "Thursday works."
    block = "From: Support <s@x.example>\nSent: Tuesday\nTo: a@b.example"
    plain = f"Thursday works.\n\n{rule}\n{block}\n"
    assert new(plain) == "Thursday works."


def test_a_rule_line_between_two_of_the_senders_paragraphs_stays() -> None:
    plain = "Part one.\n------------------------------\nPart two.\n"
    assert new(plain) == plain.strip()


def test_the_rest_of_a_link_in_a_quote() -> None:
    plain = "Done.\n\n> log in (https://portal.example.org/l?s=7f&\n_nonce=5d2)\n> and change.\n"
    assert new(plain) == "Done."


def test_a_short_answer_under_a_quoted_link_stays() -> None:
    plain = "> see https://portal.example.org/l?s=7f\nDone\n> and the fax?\nStill silent.\n"
    assert new(plain) == "Done\nStill silent."


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("bla-bla - bla--- On Tue, Dec 8, 2026 at 10:00, Support <s@x.example> wrote:",
         "bla-bla - bla"),
        ("reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:", "reply"),
        ("Works now. On Tue, Dec 8, 2026 Support <s@x.example> wrote:", "Works now."),
    ],
)
def test_the_senders_words_on_the_attribution_line(line: str, kept: str) -> None:
    assert new(f"{line}\n> Hi\n> Cancel request\n") == kept


def test_an_attribution_whose_name_holds_a_lead_word_is_not_split() -> None:
    line = "On Tue, Dec 8, 2026 at 10:00 AM Am Rhein GmbH <info@rhein.example> wrote:"
    assert new(f"Fine.\n\n{line}\n> Hi\n") == "Fine."
    assert new(f"{line}\n> Hi\n") == ""


def test_a_weak_attribution_after_words_without_a_full_stop_is_not_split() -> None:
    plain = "I talked to them On Monday Bob wrote:\n> Hi\n"
    assert new(plain) == ""  # the whole line is a (weak) attribution over a quote: safe


def test_lower_case_inline_answers_under_long_quoted_lines() -> None:
    plain = (
        "> Could you check whether the phones on the second floor register again after the reboot\n"
        "yes, all twelve\n> And the fax line?\nno, still silent\n"
    )
    assert new(plain) == "yes, all twelve\nno, still silent"


def test_the_wrapped_tail_of_a_quoted_line_stays_quoted() -> None:
    plain = (
        "Fine.\n\n> We changed the routing of the menu this morning and the calls should reach\n"
        "the queue\n> again. Please check.\n"
    )
    assert new(plain) == "Fine."


# -- speed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit",
    [
        "bla On a On b On c-- On Tue, 8 Dec 2026 <a@b.example> wrote:\n",
        "text\n------------------------------\n> q\n",
        "> see https://a.example/b?c=\n_d=1)\n",
    ],
)
def test_hostile_repetition_stays_fast(unit: str) -> None:
    started = time.process_time()
    split_reply(unit * 5000, None)
    assert time.process_time() - started < 2.0


def test_many_plain_blockquotes_stay_fast() -> None:
    html = "".join(f"<div>text {n}</div><blockquote>cited {n}</blockquote>" for n in range(5000))
    started = time.process_time()
    text = new_html(html)
    assert time.process_time() - started < 3.0
    assert "cited 0" in text and "cited 4999" not in text  # past 20, quotes
