"""SPEC §13 end to end on Dovecot, the aiosmtpd sink and `run --once` as a subprocess: an
agent with a Cyrillic name answers in HTML with a pasted screenshot; the client gets it
from "<name> via Support", formatted, the image in place, and the agent's address in none
of the bytes SMTP carried. The cases one by one are tests/scenarios/test_agent_answers.py."""

from __future__ import annotations

from tests.harness import AGENT
from tests.scenarios.test_agent_answers import (
    PNG,
    answered,
    assert_agent_address_nowhere,
    html_of,
    open_request,
)


def test_a_cyrillic_agent_s_html_answer_reaches_the_client_over_smtp(gate) -> None:
    raw, message = answered(gate, open_request(gate), "Алиса Смирнова")
    assert str(message["From"]) == "Алиса Смирнова via Support <support@example.org>"
    html = html_of(message)
    assert "<b>two</b>" in html and "<script" not in html and "Senior engineer" not in html
    [image] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image.get_payload(decode=True) == PNG
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert_agent_address_nowhere(raw, message, AGENT)
