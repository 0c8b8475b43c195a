"""The thanks-only reader (parse/thanks.py) on a corpus of realistic replies, en and ru.

Each reply is a whole mail body as a client writes it under a notice
(greetings, names, quoted text below), parsed as mailgate parses mail, so the
reader sees the same new text it sees in production. Labels:
- THANKS: only thanks, an acknowledgement or a promise to check: the request
  keeps waiting for confirmation;
- PROBLEM: says something does not work (alone or after thanks, sarcasm included):
  it must move to in_progress. Precision on these must be 100 %;
- OTHER: a question or a new matter: not thanks-only either.

`test_corpus_figures` prints the figures (run with -s to see them).
"""

from __future__ import annotations

import pytest

from mailgate.parse import parse_message
from mailgate.parse.thanks import is_thanks_only
from tests.mails import make_mail

QUOTE_EN = (
    "\n\nOn Thu, 26 Nov 2026 at 11:00, Alice via Support <support@example.org> wrote:\n"
    "> we restarted your PBX trunk. Please check the phones.\n> Thanks,\n> Alice\n"
)
QUOTE_RU = (
    "\n\n26.11.2026 11:00, Служба поддержки пишет:\n"
    "> Работы по вашей заявке выполнены. Пожалуйста, проверьте.\n> Спасибо!\n"
)

THANKS = "thanks"
PROBLEM = "problem"
OTHER = "other"

CORPUS: list[tuple[str, str]] = [
    # -- only thanks, English
    ("Thanks!", THANKS),
    ("Thank you, will check", THANKS),
    ("Thanks a lot!" + QUOTE_EN, THANKS),
    ("Thank you so much for the quick help!", THANKS),
    ("Hi Alice,\n\nthanks, I'll test it tomorrow and let you know.\n\nBest regards,\nOlga", THANKS),
    ("Many thanks!\nOlga", THANKS),
    ("thx", THANKS),
    ("Great, thanks!" + QUOTE_EN, THANKS),
    ("Thanks, works now!", THANKS),
    ("Thank you very much, that did the trick.", THANKS),
    ("Thanks for the fast response, will have a look this afternoon.", THANKS),
    ("Hello,\n\nThank you for your help.\n\nKind regards,\nJohn Smith\nIT manager, Corp Ltd.",
     THANKS),
    ("Got it, thanks!", THANKS),
    ("Perfect, thank you!", THANKS),
    ("Thanks again, much appreciated.", THANKS),
    ("Cheers!", THANKS),
    ("OK thanks, will check and get back to you.", THANKS),
    ("Thank you team, have a nice day!", THANKS),
    ("Thanks, I will try it today." + QUOTE_EN, THANKS),
    ("Hi Alice, thanks a lot for the solution!", THANKS),
    ("Thank you, all good now.", THANKS),
    ("Thanks for the info.", THANKS),
    ("Thanks!\n\nSent from my iPhone", THANKS),
    ("Thanks a million, will test tonight.", THANKS),
    # -- only thanks, Russian
    ("Спасибо!", THANKS),
    ("Большое спасибо, посмотрю", THANKS),
    ("Спасибо, проверю вечером." + QUOTE_RU, THANKS),
    ("Добрый день!\n\nСпасибо за оперативный ответ.\n\nС уважением,\nОльга", THANKS),
    ("Благодарю!", THANKS),
    ("Спасибо большое, всё работает!", THANKS),
    ("Огромное спасибо за помощь!" + QUOTE_RU, THANKS),
    ("Спасибо, принято. Протестируем завтра и отпишемся.", THANKS),
    ("Добрый день, Алиса!\nСпасибо, попробую сегодня.", THANKS),
    ("Спс", THANKS),
    ("Хорошо, спасибо!", THANKS),
    ("Здравствуйте!\nБлагодарим за быструю помощь, проверим и сообщим.", THANKS),
    ("Спасибо, понял. Посмотрю и напишу.", THANKS),
    ("Отлично, спасибо вам!", THANKS),
    # -- thanks and a problem, sarcasm, negation: never thanks-only
    ("Thanks, but it still fails", PROBLEM),
    ("Thanks for nothing.", PROBLEM),
    ("No thanks, it's broken.", PROBLEM),
    ("Not thankful at all, the phones are still dead.", PROBLEM),
    ("Thank you, but the error is still there." + QUOTE_EN, PROBLEM),
    ("Thanks, I tested it and calls still drop after 30 seconds.", PROBLEM),
    ("Thanks!\nUnfortunately it doesn't work.", PROBLEM),
    ("Thanks a lot for breaking our PBX.", PROBLEM),
    ("Thanks, that helped for one line, but line 2 still shows unregistered.", PROBLEM),
    ("Great, thanks... now nothing works at all.", PROBLEM),
    ("Thank you. Same problem this morning.", PROBLEM),
    ("Thanks!\nBroken", PROBLEM),
    ("It still does not work.", PROBLEM),
    ("Hi,\n\nthe phones are down again.\n\nThanks,\nOlga", PROBLEM),
    ("Thanks, will check.\n\nUpdate: checked, the fax fails with error 503.", PROBLEM),
    ("Спасибо, но ошибка осталась", PROBLEM),
    ("Спасибо, но не работает.", PROBLEM),
    ("Спасибо за ничего.", PROBLEM),
    ("Спасибо, но проблема сохраняется." + QUOTE_RU, PROBLEM),
    ("Спасибо! Однако звонки по-прежнему обрываются.", PROBLEM),
    ("Благодарю, но опять та же ошибка.", PROBLEM),
    ("Спасибо, проверили: входящие не проходят.", PROBLEM),
    ("Спасибо большое, теперь всё сломалось окончательно.", PROBLEM),
    ("Не работает. Спасибо.", PROBLEM),
    ("Спасибо, работает только первая линия, вторая нет.", PROBLEM),
    ("Thanks, works now! Except the fax.", PROBLEM),
    ("Thank you. Phones work, the fax does not.", PROBLEM),
    ("Thanks, all good now apart from the voicemail.", PROBLEM),
    ("Thanks, tested it: down again.", PROBLEM),
    ("Thanks. The problem is back.", PROBLEM),
    ("Thank you, I will check, but so far the same.", PROBLEM),
    ("Спасибо, всё работает. Кроме факса.", PROBLEM),
    ("Спасибо, теперь работает ещё хуже.", PROBLEM),
    ("Спасибо, работает через раз.", PROBLEM),
    ("Спасибо!\nОшибка", PROBLEM),
    # -- questions, new matters, long replies with a new question
    ("Thanks! Could you also check the second office?", OTHER),
    ("Thank you. When will the fix be deployed?", OTHER),
    ("Thanks. Also, we need two more SIP accounts for the new hires.", OTHER),
    ("Thanks for the fix.\n\nBy the way, how do I reset the voicemail PIN for extension 204? "
     "The manual says to dial *97 but that only plays a tone.", OTHER),
    ("Спасибо! А можно ещё настроить переадресацию на мобильный?", OTHER),
    ("Спасибо. Подскажите, пожалуйста, как выгрузить журнал звонков.", OTHER),
    ("Спасибо, и ещё вопрос: когда продлевается лицензия?", OTHER),
    ("Thanks, please send the invoice to accounting@corp.example.", OTHER),
]


def _new_text(body: str) -> str:
    raw = make_mail(sender="olga@client.example", subject="Re: [REQ-1] Phones are down",
                    body=body, message_id="thanks-corpus@client.example")  # fmt: skip
    return parse_message(raw, tag_prefix="REQ", own_addresses=frozenset()).new_text


def test_corpus_is_large_and_balanced() -> None:
    labels = [label for _, label in CORPUS]
    assert len(CORPUS) >= 60
    assert labels.count(THANKS) >= 25 and labels.count(PROBLEM) >= 20
    assert len(dict(CORPUS)) == len(CORPUS)  # no reply twice


def test_corpus_figures() -> None:
    said = {body: is_thanks_only(_new_text(body)) for body, _ in CORPUS}
    thanks = [body for body, label in CORPUS if label == THANKS]
    problems = [body for body, label in CORPUS if label == PROBLEM]
    others = [body for body, label in CORPUS if label == OTHER]
    kept_problems = [body for body in problems if said[body]]
    found = [body for body in thanks if said[body]]
    recall = len(found) / len(thanks)
    print(f"\nthanks-only corpus: {len(CORPUS)} replies ({len(thanks)} thanks-only, "
          f"{len(problems)} problem reports, {len(others)} questions/new matters)")
    print(f"problem reports classified thanks-only: {len(kept_problems)} of {len(problems)} "
          f"(precision on problem reports {100 * (1 - len(kept_problems) / len(problems)):.0f} %)")
    print(f"thanks-only recognised: {len(found)} of {len(thanks)} (recall {100 * recall:.0f} %)")
    missed = [body for body in thanks if not said[body]]
    if missed:
        print("missed:", *(repr(body[:60]) for body in missed), sep="\n  ")
    assert kept_problems == []  # SPEC §15: a problem report never waits to close by itself
    assert [body for body in others if said[body]] == []
    assert recall >= 0.9


@pytest.mark.parametrize(
    "text",
    ["not thankful", "no thanks, it's broken", "Thanks for nothing", "thanks?", "Thanks. Why?",
     "Спасибо, но ошибка осталась", "спасибо, не помогло", "Thanks " * 50],
)
def test_negated_asked_or_long_is_not_thanks_only(text: str) -> None:
    assert not is_thanks_only(text)


@pytest.mark.parametrize("text", ["", "Hello", "OK, will check", "Посмотрю завтра"])
def test_without_gratitude_it_is_no_thanks(text: str) -> None:
    assert not is_thanks_only(text)
