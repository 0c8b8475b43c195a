"""The spam rule (SPEC §14), pure: `decide/spam.py` alone, then first in `decide_message`.

Who can trigger each verdict, and what comes of it: the MX (its X-Spam-* and
Authentication-Results headers), the admin (`blocked_senders`,
`spam_headers`), and the sender, who can only make their own mail held.
"""

from __future__ import annotations

import pytest

from mailgate.config import TrustSettings
from mailgate.decide.message import Routed, decide_message
from mailgate.decide.spam import (
    Check,
    blocked_by,
    held_again,
    release_note,
    spam_reason,
    waived_checks,
)
from mailgate.parse import parse_message
from tests.mails import bounce_for, make_mail
from tests.unit.test_decide import AGENT, NOW, RULES, snapshot

MX = "mx.example.org"
TRUST = TrustSettings(authserv_id=MX, spam_headers=(("x-rspamd-action", "reject"),),
                      blocked_senders=("spammer@bulk.example", "@junk.example"))  # fmt: skip


def parsed(raw: bytes):
    return parse_message(raw, tag_prefix="REQ", own_addresses=frozenset({"support@example.org"}))


def mail(sender: str = "anna@corp.example", **headers: str):
    return parsed(make_mail(sender=sender, subject="Phones", body="Hello", message_id="m@x",
                            headers=headers))  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Spam-Flag": "YES"}, "spam: X-Spam-Flag: YES"),
        ({"X-Spam-Flag": "yes"}, "spam: X-Spam-Flag: yes"),
        ({"X-Spam-Status": "Yes, score=9.1 required=5.0 tests=BAYES_99"},
         "spam: X-Spam-Status: Yes, score=9.1 required=5.0 tests=BAYES_99"),
        ({"X-Rspamd-Action": "Reject"}, "spam: X-Rspamd-Action: Reject"),  # [trust] spam_headers
    ],
)  # fmt: skip
def test_a_spam_verdict_in_a_header_holds_the_message(headers, reason):
    assert spam_reason(mail(**headers), TRUST) == reason


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Spam-Flag": "NO"},
        {"X-Spam-Status": "No, score=-0.1 required=5.0"},
        {"X-Spam-Status": "Yesterday"},  # a word, not the verdict
        {"X-Rspamd-Action": "no action"},
        {"X-Spam-Verdict": "spam"},  # not configured
    ],
)
def test_no_verdict_no_hold(headers):
    assert spam_reason(mail(**headers), TRUST) == ""


def test_a_forged_no_never_frees_a_yes():
    # The sender writes "NO" above, our filter adds "YES" (or the other way round):
    # any verdict of spam holds it. A sender can only get their own mail held.
    def with_flag(flag: str) -> bytes:
        return make_mail(
            sender="anna@corp.example",
            subject="x",
            body="x",
            message_id="m@x",
            headers={"X-Spam-Flag": flag, "X-Spam-Status": f"{flag.title()}, s=1"},
        )

    held = "spam: X-Spam-Flag: YES"
    assert spam_reason(parsed(b"X-Spam-Flag: YES\r\n" + with_flag("NO")), TRUST) == held
    assert spam_reason(parsed(b"X-Spam-Flag: NO\r\n" + with_flag("YES")), TRUST) == held


def test_a_long_or_folded_verdict_is_shown_on_one_short_line():
    reason = spam_reason(mail(**{"X-Spam-Status": "Yes, " + "T_RULE, " * 40}), TRUST)
    assert reason.startswith("spam: X-Spam-Status: Yes, T_RULE") and len(reason) < 100
    assert "\n" not in reason and "\r" not in reason


@pytest.mark.parametrize(
    ("sender", "rule"),
    [
        ("spammer@bulk.example", "spammer@bulk.example"),
        ("SPAMMER@Bulk.Example", "spammer@bulk.example"),
        ("anyone@junk.example", "@junk.example"),
        ("other@bulk.example", ""),  # only that address of its domain
        ("anyone@sub.junk.example", ""),  # a domain entry is that domain, not its subdomains
        ("junk.example@corp.example", ""),
    ],
)
def test_blocked_senders_are_addresses_or_domains(sender, rule):
    assert blocked_by(sender, TRUST.blocked_senders) == rule


def test_a_blocked_sender_is_held_with_the_rule_that_named_it():
    reason = spam_reason(mail("Bulk <anyone@junk.example>"), TRUST)
    rule = "@junk.example in [trust] blocked_senders"
    assert reason == f"blocked sender: anyone@junk.example ({rule})"


def auth(verdict: str, domain: str = "corp.example", server: str = MX) -> str:
    return f"{server}; spf=softfail smtp.mailfrom={domain}; dmarc={verdict} header.from={domain}"


def test_dmarc_fail_from_our_mx_holds_the_message():
    held = mail(**{"Authentication-Results": auth("fail")})
    assert spam_reason(held, TRUST) == "dmarc=fail header.from=corp.example"


@pytest.mark.parametrize(
    "header",
    [
        auth("pass"),
        auth("none"),
        auth("fail", server="mx.attacker.example"),  # not our MX: never read
        auth("fail", domain="other.example"),  # about another domain than the From's
    ],
)
def test_no_dmarc_fail_of_ours_for_the_from_domain_no_hold(header):
    assert spam_reason(mail(**{"Authentication-Results": header}), TRUST) == ""


def test_only_the_topmost_authentication_results_of_our_mx_counts():
    # Our MX prepends its verdict; a "fail" the sender wrote lower down is not read,
    # nor a "pass" (that cannot free a fail of ours either).
    raw = make_mail(sender="anna@corp.example", subject="x", body="x", message_id="m@x",
                    headers={"Authentication-Results": auth("fail")})  # fmt: skip
    ours = f"Authentication-Results: {auth('pass')}\r\n".encode()
    assert spam_reason(parsed(ours + raw), TRUST) == ""
    theirs = f"Authentication-Results: {auth('fail')}\r\n".encode()
    lower_pass = make_mail(sender="anna@corp.example", subject="x", body="x", message_id="m@x",
                           headers={"Authentication-Results": auth("pass")})  # fmt: skip
    assert spam_reason(parsed(theirs + lower_pass), TRUST).startswith("dmarc=fail")


def test_without_an_authserv_id_no_dmarc_verdict_is_read():
    held = mail(**{"Authentication-Results": auth("fail")})
    assert spam_reason(held, TrustSettings()) == ""


# -- first in decide_message ---------------------------------------------------------------


def test_spam_opens_nothing_and_sends_nothing():
    message = mail(**{"X-Spam-Flag": "YES"})
    decision = decide_message(message, Routed(request=None), RULES, now=NOW)
    assert decision.holds == "spam: X-Spam-Flag: YES"
    assert (decision.opens, decision.stores, decision.notices, decision.events) == (
        None, None, (), ())  # fmt: skip


def test_spam_on_a_request_changes_nothing_of_it():
    message = parsed(make_mail(sender="anna@corp.example", subject="Re: [REQ-7] x",
                               body="Resolve this issue", message_id="r@x",
                               headers={"X-Spam-Flag": "YES"}))  # fmt: skip
    decision = decide_message(message, Routed(request=snapshot()), RULES, now=NOW)
    assert decision.holds and decision.updates == () and decision.notices == ()


def test_a_forged_bounce_marked_as_spam_is_held_before_it_is_read_as_a_bounce():
    raw = bounce_for("mg.7.abc@example.org", "anna@corp.example", "dsn@x")
    message = parsed(b"X-Spam-Flag: YES\r\n" + raw)
    assert message.bounce is not None
    decision = decide_message(message, Routed(request=snapshot()), RULES, now=NOW)
    assert decision.holds == "spam: X-Spam-Flag: YES" and decision.bouncing == ()


def test_a_released_message_is_applied_with_the_check_that_held_it_waived():
    message = mail(**{"X-Spam-Flag": "YES"})
    note = release_note("spam: X-Spam-Flag: YES")
    decision = decide_message(message, Routed(request=None, released=note), RULES, now=NOW)
    assert decision.holds is None and decision.opens is not None
    assert next((e.kind, e.actor, e.detail) for e in decision.events) == (
        "released", "admin", "released by admin; held for: spam: X-Spam-Flag: YES")  # fmt: skip


def test_a_release_waives_only_the_check_that_held_the_message():
    both = mail(**{"X-Spam-Flag": "YES", "Authentication-Results": auth("fail")})
    assert spam_reason(both, TRUST) == "spam: X-Spam-Flag: YES"
    assert waived_checks(release_note("spam: X-Spam-Flag: YES")) == {Check.SPAM_VERDICT}
    again = spam_reason(both, TRUST, waived=waived_checks(release_note("spam: X-Spam-Flag: YES")))
    assert again == "dmarc=fail header.from=corp.example"
    assert spam_reason(both, TRUST, waived=frozenset({Check.SPAM_VERDICT, Check.DMARC_FAIL})) \
        == ""  # fmt: skip
    twice = release_note(held_again("dmarc=fail header.from=corp.example",
                                    release_note("spam: X-Spam-Flag: YES")))  # fmt: skip
    assert waived_checks(twice) == {Check.SPAM_VERDICT, Check.DMARC_FAIL}
    assert waived_checks("") == frozenset()
    assert waived_checks("released by admin") == frozenset(Check)  # the note says no reason


def test_released_spam_in_an_agents_name_does_not_act_as_the_agent():
    # The admin vouched that it is no spam, not that an agent wrote it: without the
    # agents' proof it is held on the request, shown to agents, its command not applied.
    message = parsed(make_mail(sender=AGENT, subject="Re: [REQ-7] x", body="#status closed",
                               message_id="s@x", headers={"X-Spam-Flag": "YES",
                               "Authentication-Results": f"{MX}; dmarc=none"}))  # fmt: skip
    note = release_note("spam: X-Spam-Flag: YES")
    decision = decide_message(message, Routed(request=snapshot(), released=note), RULES, now=NOW)
    assert decision.holds is None
    assert decision.stores.kind.value == "held"
    assert [u for u in decision.updates if "status" in dict(u.changes)] == []
    assert [e.kind for e in decision.events] == ["released", "held"]


def test_a_released_new_mail_from_an_agent_address_counts_as_the_agents():
    unproven = parsed(make_mail(sender=AGENT, subject="Printer", body="Order toner",
                                message_id="p@x", headers={"Authentication-Results": f"{MX}; "
                                "dmarc=none header.from=support.example.org"}))  # fmt: skip
    assert decide_message(unproven, Routed(request=None), RULES, now=NOW).holds
    held_for = decide_message(unproven, Routed(request=None), RULES, now=NOW).holds
    assert held_for is not None and held_for.startswith("agent address without proof:")
    routed = Routed(request=None, released=release_note(held_for))
    decision = decide_message(unproven, routed, RULES, now=NOW)
    assert decision.opens is not None and decision.opens.requester == AGENT
