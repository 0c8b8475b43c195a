"""Escalation reasons (SPEC §2): a concrete reason is accepted, priority alone is not."""

from __future__ import annotations

import pytest

from mailgate.parse.escalation import REFUSED_CATEGORIES, explain, judge_escalation_reason
from mailgate.parse.phrases import DEFAULT_PHRASES

ACCEPTED = [
    # no answer for a long time
    ("No answer for a week", "no_response"),
    ("Nobody has replied since Monday", "no_response"),
    ("We have been waiting for days", "no_response"),
    ("URGENT!!! No response to my last three mails", "no_response"),
    ("Нет ответа уже неделю", "no_response"),
    ("Прошло 5 дней, никто не отвечает", "no_response"),
    ("Срочно! Вы не отвечаете", "no_response"),
    # SLA
    ("SLA breached", "sla"),
    ("The resolution time in our contract has passed", "sla"),
    ("The deadline was yesterday", "sla"),
    ("Нарушен SLA", "sla"),
    ("Сроки решения давно прошли", "sla"),
    # dissatisfaction with progress
    ("Not satisfied with the progress", "dissatisfied"),
    ("Dissatisfied: the work is going in circles", "dissatisfied"),
    ("Не устраивает ход работ", "dissatisfied"),
    ("Мы недовольны: ничего не происходит", "dissatisfied"),
    # the problem grew
    ("At first one extension failed, now all of them do", "problem_grew"),
    ("The whole office is affected", "problem_grew"),
    ("Сначала не работал один номер, теперь не работают все", "problem_grew"),
    ("Проблема усугубилась: теперь не работает ни один номер", "problem_grew"),
    ("Теперь и в другом офисе", "problem_grew"),
    # another significant circumstance
    ("We are losing customers every hour", "other_significant"),
    ("urgent, the CEO cannot make calls", "other_significant"),
    ("The router keeps rebooting every hour", "other_significant"),
    ("Теряем клиентов", "other_significant"),
    ("Не можем принимать звонки", "other_significant"),
    ("Офис без связи", "other_significant"),
    ("Срочно: бухгалтерия сдаёт отчётность через час", "other_significant"),
]


@pytest.mark.parametrize(("reason", "category"), ACCEPTED)
def test_a_concrete_reason_is_accepted(reason: str, category: str) -> None:
    verdict = judge_escalation_reason(reason)
    assert (verdict.accepted, verdict.category) == (True, category), verdict
    assert verdict.evidence
    assert verdict.explanation


REFUSED = [
    (None, "no_reason"),
    ("", "no_reason"),
    ("   ", "no_reason"),
    ("!!!", "no_reason"),
    ("Please escalate", "no_reason"),
    ("because", "no_reason"),
    ("this request", "no_reason"),
    ("Please help", "no_reason"),
    ("Эскалируйте, пожалуйста", "no_reason"),
    ("Прошу решить вопрос", "no_reason"),
    ("urgent", "priority_only"),
    ("URGENT!!!", "priority_only"),
    ("Urgent urgent urgent", "priority_only"),
    ("raise the priority", "priority_only"),
    ("Please raise the priority of this request", "priority_only"),
    ("ASAP", "priority_only"),
    ("please hurry", "priority_only"),
    ("high priority please", "priority_only"),
    ("I need this fixed ASAP", "priority_only"),
    ("Do it faster", "priority_only"),
    ("Important!", "priority_only"),
    ("It is very important for our business", "priority_only"),
    ("as soon as possible please", "priority_only"),
    ("top priority", "priority_only"),
    ("срочно", "priority_only"),
    ("СРОЧНО!!!", "priority_only"),
    ("повысьте приоритет", "priority_only"),
    ("побыстрее", "priority_only"),
    ("очень срочно, пожалуйста", "priority_only"),
    ("нужно быстрее", "priority_only"),
    ("прошу ускорить", "priority_only"),
    ("важно", "priority_only"),
    ("поднимите приоритет заявки", "priority_only"),
    ("сделайте побыстрее", "priority_only"),
    ("как можно скорее", "priority_only"),
    ("Срочно нужно решить эту проблему", "priority_only"),
]


@pytest.mark.parametrize(("reason", "category"), REFUSED)
def test_no_reason_or_priority_alone_is_refused(reason: str | None, category: str) -> None:
    verdict = judge_escalation_reason(reason)
    assert (verdict.accepted, verdict.category) == (False, category), verdict
    assert category in REFUSED_CATEGORIES


@pytest.mark.parametrize("category", ["no_reason", "priority_only", "no_response", "sla"])
def test_the_explanation_is_in_the_asked_language(category: str) -> None:
    english = explain(category, language="en")
    russian = explain(category, language="ru")
    assert english and russian and english != russian
    assert any("а" <= ch <= "я" for ch in russian.lower())


def test_an_unknown_language_falls_back_to_english() -> None:
    assert explain("no_reason", language="de") == explain("no_reason", language="en")


def test_a_refusal_says_what_counts_as_a_reason() -> None:
    verdict = judge_escalation_reason("urgent", language="en")
    assert "SLA" in verdict.explanation and "Escalate:" in verdict.explanation
    verdict = judge_escalation_reason("срочно", language="ru")
    assert "SLA" in verdict.explanation and "Эскалировать:" in verdict.explanation


def test_the_content_threshold_is_a_parameter() -> None:
    assert not judge_escalation_reason("Our boss is angry").accepted
    assert judge_escalation_reason("Our boss is angry", min_content_words=2).accepted


def test_every_category_has_an_explanation_in_every_language() -> None:
    categories = {c for c, _ in DEFAULT_PHRASES.escalation.categories} | REFUSED_CATEGORIES
    for language in DEFAULT_PHRASES.languages:
        texts = DEFAULT_PHRASES.escalation.explanations[language]
        assert categories <= set(texts), language
