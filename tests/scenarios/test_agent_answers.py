"""Agents' answers as clients get them (SPEC §13, §4): the agent's name with the support
address, the agent's formatting kept but sanitised, inline images kept, and the agent's
address nowhere in what the client receives."""

from __future__ import annotations

import email.policy
import re
from email.message import EmailMessage

from tests.harness import AGENT, TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
NOW = "2026-11-26T10:00:00+03:00"
LATER = "2026-11-26T10:05:00+03:00"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"screenshot"
ANSWER_HTML = """<html><head><style>p {{ color: red }}</style></head><body>
<div dir="ltr"><p>Hello Ivan,</p>
<p>please do <b>two</b> things:</p>
<ol><li>restart the <i>PBX</i></li>
<li>read <a href="https://docs.example.org/pbx">the guide</a></li></ol>
<table><tr><th>Port</th><td>5060</td></tr></table>
<p><img src="cid:image001.png@01DB0001.0002" alt="where to click"></p>
<p>Or write to {agent} directly.</p>
<p>#status waiting_for_client</p>
<img src="https://tracker.example/open.gif" width="1" height="1">
<script>alert("x")</script><p onclick="steal()">Thanks</p>
<div class="gmail_signature"><p>{name}<br>Senior engineer<br>{agent}<br>+7 495 000 00 00</p></div>
</div>
<div class="gmail_quote"><div class="gmail_attr">On Thu, Nov 26, 2026 at 10:00 Support
&lt;support@example.org&gt; wrote:</div><blockquote class="gmail_quote">
<p>all our phones are down since 9:00</p></blockquote></div></body></html>
"""
ANSWER_TEXT = """Hello Ivan,

please do *two* things:
1. restart the PBX
2. read the guide <https://docs.example.org/pbx>

Or write to {agent} directly.

#status waiting_for_client

Thanks

--
{name}
Senior engineer
{agent}

On Thu, Nov 26, 2026 at 10:00 Support <support@example.org> wrote:
> all our phones are down since 9:00
"""


def open_request(
    gate, *, body: str = "Hello,\n\nall our phones are down since 9:00."
) -> EmailMessage:
    gate.deliver(
        make_mail(
            sender=f"Ivan <{CLIENT}>",
            subject="Phones are down",
            body=body,
            message_id="first@corp.example",
        )
    )
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    gate.smtp.clear()
    return notice


def agent_reply(
    notice: EmailMessage, *, sender: str, text: str, html: str | None, image: bool = True
) -> bytes:
    """The agent's reply to the team's notice: text, HTML and an inline screenshot, as Gmail
    sends it (multipart/alternative, the HTML in a multipart/related with the image), to
    the notice's Reply-To, the request's agents' reply address."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = notice["Reply-To"]
    message["Subject"] = f"Re: {notice['Subject']}"
    message["Message-ID"] = "<answer-1@mail.support.example.org>"
    message["In-Reply-To"] = notice["Message-ID"]
    message["References"] = notice["Message-ID"]
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        if image:
            message.get_payload()[1].add_related(
                PNG,
                "image",
                "png",
                cid="<image001.png@01DB0001.0002>",
                disposition="inline",
                filename="image001.png",
            )
    return message.as_bytes()


def relayed(gate) -> tuple[bytes, EmailMessage]:
    """The answer relayed to the client (a #status line also sends a status notice)."""
    [sent] = [
        mail
        for mail in gate.smtp.messages
        if CLIENT in mail.rcpt_tos and "Auto-Submitted" not in mail.message
    ]
    return sent.data, sent.message


def answered(gate, notice: EmailMessage, name: str) -> tuple[bytes, EmailMessage]:
    """The HTML answer above from the agent named `name`, as relayed to the client."""
    answer = agent_reply(
        notice,
        sender=f"{name} <{AGENT}>",
        text=ANSWER_TEXT.format(agent=AGENT, name=name),
        html=ANSWER_HTML.format(agent=AGENT, name=name),
    )
    gate.deliver(answer)
    gate.run_once(LATER)
    return relayed(gate)


def assert_agent_address_nowhere(raw: bytes, message: EmailMessage, address: str) -> None:
    """Not in the bytes on the wire, nor in any header or decoded part a client shows."""
    assert address.encode() not in raw.lower()
    for name, value in message.items():
        assert address not in str(value).lower(), name
    for part in message.walk():
        if part.get_content_maintype() == "text":
            assert address not in part.get_content().lower()
            assert address.replace("@", "%40") not in part.get_content().lower()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def test_an_html_answer_reaches_the_client_formatted_from_the_agent_via_support(gate) -> None:
    notice = open_request(gate)
    name = "Alice Smith"
    raw, message = answered(gate, notice, name)
    assert message["From"] == "Alice Smith via Support <support@example.org>"
    assert message["Reply-To"] == "support@example.org"
    assert "Auto-Submitted" not in message
    html = html_of(message)
    assert "<b>two</b>" in html
    assert "<li>restart the <i>PBX</i></li>" in html and "<ol>" in html
    assert '<a href="https://docs.example.org/pbx" rel="noopener noreferrer">the guide</a>' in html
    assert "<th>Port</th><td>5060</td>" in html
    assert "Or write to support@example.org directly." in html  # the agent's address replaced
    for gone in (
        "<script",
        "onclick",
        "tracker.example",
        "color: red",
        "#status",
        "Senior engineer",
        "+7 495",
        "all our phones are down",
        "wrote:",
    ):
        assert gone not in html, gone
    text = text_of(message)
    assert "please do *two* things" in text and "Or write to support@example.org directly." in text
    for gone in ("#status", "Senior engineer", "all our phones are down"):
        assert gone not in text, gone
    assert_agent_address_nowhere(raw, message, AGENT)
    assert gate.show("REQ-1")["status"] == "waiting_for_client"  # the command still counted


def test_the_answer_s_inline_image_is_shown_in_place_once(gate) -> None:
    _, message = answered(gate, open_request(gate), "Alice")
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image.get_payload(decode=True) == PNG
    assert image.get_content_disposition() == "inline"
    cid = image["Content-ID"].strip("<>")
    html = html_of(message)
    assert f'<img src="cid:{cid}" alt="where to click" style="max-width: 100%;' in html
    assert html.count(f"cid:{cid}") == 1  # not repeated below the answer
    assert "image001.png@01DB0001.0002" not in html  # the agent's Content-ID is not reused
    root = message.get_content_type()
    assert root == "multipart/mixed"
    [related] = [part for part in message.walk() if part.get_content_type() == "multipart/related"]
    assert image in list(related.iter_parts())


def test_a_cyrillic_agent_name_is_encoded_and_the_address_still_nowhere(make_gate) -> None:
    gate = make_gate(language="ru")
    notice = open_request(gate, body="Здравствуйте,\n\nне работают телефоны с 9:00.")
    name = "Алиса Смирнова"
    raw, message = answered(gate, notice, name)
    head = raw.split(b"\r\n\r\n")[0]
    assert re.search(rb"^From: =\?utf-8\?", head, re.M)
    assert str(message["From"]) == "Алиса Смирнова via Support <support@example.org>"
    assert "<b>two</b>" in html_of(message)
    assert "Смирнова" not in html_of(message) and "Смирнова" not in text_of(message)
    assert_agent_address_nowhere(raw, message, AGENT)


def test_a_plain_text_answer_stays_plain(gate) -> None:
    notice = open_request(gate)
    text = f"Please <b>restart</b> the PBX.\nMy direct line: {AGENT.upper()}\n"
    gate.deliver(agent_reply(notice, sender=f"Alice Smith <{AGENT}>", text=text, html=None))
    gate.run_once(LATER)
    raw, message = relayed(gate)
    assert message["From"] == "Alice Smith via Support <support@example.org>"
    html = html_of(message)
    assert "Please &lt;b&gt;restart&lt;/b&gt; the PBX." in html  # escaped, not markup
    assert "My direct line: support@example.org" in text_of(message)
    assert_agent_address_nowhere(raw, message, AGENT)


def test_an_agent_without_a_display_name_is_named_by_the_local_part(gate) -> None:
    notice = open_request(gate)
    gate.deliver(agent_reply(notice, sender=AGENT, text="Restarted.", html=None))
    gate.run_once(LATER)
    raw, message = relayed(gate)
    assert message["From"] == "alice via Support <support@example.org>"
    assert_agent_address_nowhere(raw, message, AGENT)


def test_notices_that_relay_no_answer_keep_the_support_name(gate) -> None:
    notice = open_request(gate)
    gate.deliver(agent_reply(notice, sender=f"Alice <{AGENT}>", text="#status on_hold", html=None))
    gate.run_once(LATER)
    [message] = gate.sent_to(CLIENT)  # the status notice: no answer relayed
    assert message["From"] == "Support <support@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_mailbox_s_own_pattern_and_name_make_the_from(make_gate) -> None:
    gate = make_gate(agent_from="{support} ({agent})", support_name="Helpdesk")
    notice = open_request(gate)
    gate.deliver(agent_reply(notice, sender=f"Alice <{AGENT}>", text="Restarted.", html=None))
    gate.run_once(LATER)
    _, message = relayed(gate)
    assert message["From"] == '"Helpdesk (Alice)" <support@example.org>'
