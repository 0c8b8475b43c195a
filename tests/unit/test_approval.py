"""Approval phrases (SPEC §2): close only on a plain, unconditional permission."""

from __future__ import annotations

import pytest

from mailgate.domain import CommandName
from mailgate.parse.approval import find_approval, is_approval, split_sentences
from mailgate.parse.commands import scan_commands

# (message, the sentence that approves)
APPROVALS = [
    # English, the SPEC's and the portal's examples
    ("The question is exhausted, please close the request", None),
    ("Everything works, the request can be closed", None),
    ("you can close the request", None),
    ("Please close the ticket", None),
    # English, variants
    ("Everything works, the request can be closed.", None),
    ("EVERYTHING WORKS, THE REQUEST CAN BE CLOSED!", None),
    ("Thanks, the issue is fixed and you may close this ticket.", None),
    ("All good now. Feel free to close the ticket.", "Feel free to close the ticket."),
    ("Works now - go ahead and close the case.", None),
    ("Close the request, please.", None),
    ("Problem solved, you can close it.", None),
    ("Please close.", None),
    ("Kindly close this request.", None),
    ("It works now, so the ticket can be closed.", None),
    ("We no longer need help; you can close the request.", None),
    ("Everything is working again. The request may be closed.", "The request may be closed."),
    ("OK, you can close the ticket now", None),
    ("I think the request can be closed", None),
    ("No, you can close the request", None),
    (
        "Hi,\nthe calls work again, you can close\nthe request.\nAnna",
        "Hi,\nthe calls work again, you can close\nthe request.",
    ),
    (
        "Thank you!\n\nYou can close the request.\n\nBest regards,\nAnna",
        "You can close the request.",
    ),
    # Russian, the SPEC's examples
    ("Вопрос исчерпан, заявку можно закрыть", None),
    ("Всё работает, заявку можно закрыть", None),
    ("Все работает, заявку можно закрыть.", None),
    ("можно закрывать", None),
    ("заявку можно закрыть", None),
    # Russian, variants
    ("Проблема решена, можете закрыть обращение", None),
    ("Всё ок, закрывайте", None),
    ("Закрывайте.", None),
    ("Закройте заявку, пожалуйста", None),
    ("Закройте, пожалуйста, заявку", None),
    ("Прошу закрыть заявку", None),
    ("Спасибо, можно закрыть", None),
    ("Думаю, заявку можно закрыть", None),
    ("Давайте закроем заявку", None),
    ("Заявку можно закрывать, спасибо!", None),
    ("Вопрос снят, заявку можно закрыть.", None),
    ("ЗАЯВКУ МОЖНО ЗАКРЫТЬ", None),
    ("Спасибо за помощь! Всё работает. Заявку можно закрыть.", "Заявку можно закрыть."),
    ("Звонки проходят, вопрос можно закрывать", None),
    ("Больше ничего не нужно, можно закрывать", None),
]


@pytest.mark.parametrize(("text", "sentence"), APPROVALS)
def test_an_approval_phrase_approves(text: str, sentence: str | None) -> None:
    scan = find_approval(text)
    assert scan.approval is not None, scan.rejected
    assert scan.approval.name is CommandName.APPROVAL
    assert scan.approval.line == (sentence or text.strip())
    assert scan.approval.line in text


# (message, why it is not an approval)
NOT_APPROVALS = [
    # English, the SPEC's examples
    ("Please don't close the request yet", "negated"),
    ("Can the request be closed?", "question"),
    ("It still doesn't work, so the request can't be closed", "negated"),
    # English, negated
    ("Do not close", "negated"),
    ("Please do not close this ticket", "negated"),
    ("Please don’t close the request yet", "negated"),
    ("The ticket cannot be closed until the fix is deployed", "negated"),
    ("Nothing works, don't close it", "negated"),
    ("The request is not ready to be closed", "negated"),
    ("You can not close the request", "negated"),
    ("Never close this request", "negated"),
    # English, asked
    ("Why did you close the ticket?", "question"),
    ("Should we close the ticket", "question"),
    ("Do you want to close the request?", "question"),
    ("Could you please close the ticket?", "question"),
    ("Can you close the request", "question"),
    # English, conditional, deferred or hedged
    ("if it works, you can close the request", "conditional"),
    ("If it works, you can close the request.", "conditional"),
    ("You can close the request once I confirm", "conditional"),
    ("You can close the request after I test it", "conditional"),
    ("Please wait before closing the request", "conditional"),
    ("Please close the request when you are done", "conditional"),
    ("The request can be closed later", "conditional"),
    ("The request can be closed, but not yet", "conditional"),
    ("Maybe you can close the request", "conditional"),
    # English, another request or a contradiction in the message
    ("Please close my other ticket", "other_request"),
    ("You may close the previous request", "other_request"),
    ("I still have the problem, you can close the ticket", "contradicted"),
    ("Line 3 does not work. Please close the request.", "contradicted"),
    ("You can close the request. Actually, please don't close it yet.", "contradicted"),
    # Russian, negated
    ("Не закрывайте заявку", "negated"),
    ("Заявку пока не закрывать", "negated"),
    ("не работает, закрывать нельзя", "negated"),
    ("Закрывать заявку не нужно", "negated"),
    ("Прошу не закрывать заявку", "negated"),
    ("Не надо закрывать заявку", "negated"),
    ("Пожалуйста, не закрывайте заявку!", "negated"),
    ("Не закрывайте, пожалуйста, заявку", "negated"),
    # Russian, asked
    ("Можно ли закрыть заявку?", "question"),
    ("Можно закрыть заявку?", "question"),
    ("Зачем вы закрыли заявку?", "question"),
    ("Почему заявку закрыли", "question"),
    # Russian, conditional, deferred or hedged
    ("Если всё заработает, можно закрывать", "conditional"),
    ("Когда проверим, заявку можно будет закрыть", "conditional"),
    ("Заявку можно закрыть после проверки", "conditional"),
    ("Заявку закрывать рано", "conditional"),
    ("Вы можете закрыть заявку, когда всё заработает", "conditional"),
    ("Заявку можно будет закрыть завтра", "conditional"),
    ("Наверное, заявку можно закрыть", "conditional"),
    # Russian, another request or a contradiction in the message
    ("Закройте, пожалуйста, мою другую заявку REQ-12", "other_request"),
    ("Всё ещё не работает, но заявку можно закрыть", "contradicted"),
    ("Входящие по-прежнему не проходят. Заявку можно закрыть.", "contradicted"),
]


@pytest.mark.parametrize(("text", "reason"), NOT_APPROVALS)
def test_a_negated_or_asked_phrase_is_no_approval(text: str, reason: str) -> None:
    scan = find_approval(text)
    assert scan.approval is None
    assert reason in [r.reason for r in scan.rejected]
    assert all(r.name is CommandName.APPROVAL and r.line in text for r in scan.rejected)


UNRELATED = [
    "The calls work again, thank you.",
    "You closed the request by mistake",
    "Заявку закрыли по ошибке",
    "Please close the port 5060",
    "The firewall can be closed",
    "Закройте, пожалуйста, порт 5060",
    "Please keep the request open",
    "Resolve this issue",
    "The question is exhausted.",
    "",
]


@pytest.mark.parametrize("text", UNRELATED)
def test_text_about_something_else_is_neither_approval_nor_rejected(text: str) -> None:
    scan = find_approval(text)
    assert scan.approval is None
    assert scan.rejected == ()


def test_only_the_first_approving_sentence_is_the_approval() -> None:
    scan = find_approval("You can close the request. Thanks, the ticket can be closed.")
    assert scan.approval is not None
    assert scan.approval.line == "You can close the request."
    assert scan.rejected == ()


def test_an_approval_in_the_new_text_is_a_command_of_the_scan() -> None:
    scan = scan_commands(
        new_text="Hello,\n\nEverything works, the request can be closed.\n\nAnna",
        quoted_text="",
        subject_after_tag="Phones do not ring",
    )
    assert [(c.name, c.line) for c in scan.commands] == [
        (CommandName.APPROVAL, "Everything works, the request can be closed.")
    ]


def test_an_approval_in_the_quoted_text_is_only_rejected() -> None:
    scan = scan_commands(
        new_text="We will check on Monday.",
        quoted_text="Support wrote:\n> Everything works, you can close\n> the request.",
        subject_after_tag="",
    )
    assert scan.commands == ()
    assert [(r.name, r.reason) for r in scan.rejected] == [(CommandName.APPROVAL, "quoted")]


def test_an_approval_in_the_subject_does_not_count() -> None:
    # The subject is repeated in every reply; only the new text can approve.
    scan = scan_commands(
        new_text="Thanks", quoted_text="", subject_after_tag="You can close the request"
    )
    assert scan.commands == ()


def test_resolve_and_an_approval_give_one_close() -> None:
    scan = scan_commands(
        new_text="Resolve this issue\nEverything works, you can close the request.",
        quoted_text="",
        subject_after_tag="",
    )
    assert [c.name for c in scan.commands] == [CommandName.RESOLVE]
    assert [(r.name, r.reason) for r in scan.rejected] == [(CommandName.APPROVAL, "duplicate")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two? Three!", ["One.", "Two?", "Three!"]),
        ("Version 1.2 works. Fine", ["Version 1.2 works.", "Fine"]),
        ("a line\ncontinued here", ["a line\ncontinued here"]),
        ("First line\nSecond Line", ["First line", "Second Line"]),
        ("para one\n\npara two", ["para one", "para two"]),
        ("«Всё работает.» Спасибо", ["«Всё работает.»", "Спасибо"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_is_approval() -> None:
    assert is_approval("Заявку можно закрыть")
    assert not is_approval("Заявку нельзя закрыть")
