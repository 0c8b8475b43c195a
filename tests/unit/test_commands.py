"""Command lines in the new text and the subject (SPEC §2), table-driven."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.domain import CommandName, Status
from mailgate.parse.commands import CommandScan, normalize, scan_commands, status_from_words
from mailgate.parse.phrases import PhraseTableError, load_phrase_book

E = CommandName


def scan(new_text: str = "", *, quoted: str = "", subject: str = "") -> CommandScan:
    return scan_commands(new_text=new_text, quoted_text=quoted, subject_after_tag=subject)


def names(result: CommandScan) -> list[CommandName]:
    return [command.name for command in result.commands]


# -- client commands: one line each, every spelling ------------------------------------

CLIENT_LINES = [
    # resolve
    ("Resolve this issue", E.RESOLVE),
    ("resolve this issue", E.RESOLVE),
    ("RESOLVE THIS ISSUE", E.RESOLVE),
    ("  Resolve   this\tissue  ", E.RESOLVE),
    ("Resolve this issue.", E.RESOLVE),
    ("Resolve this issue!!!", E.RESOLVE),
    ("Resolve", E.RESOLVE),
    ("resolve.", E.RESOLVE),
    ("Решить вопрос", E.RESOLVE),
    ("решить вопрос!", E.RESOLVE),
    ("Закрыть заявку", E.RESOLVE),
    ("ЗАКРЫТЬ ЗАЯВКУ.", E.RESOLVE),
    # cancel
    ("Cancel request", E.CANCEL),
    ("cancel request", E.CANCEL),
    ("CANCEL REQUEST", E.CANCEL),
    ("Cancel  request ;", E.CANCEL),
    ("Cancel the request", E.CANCEL),
    ("Отменить заявку", E.CANCEL),
    ("отменить заявку…", E.CANCEL),
    ("Отмените заявку", E.CANCEL),
    # don't notify
    ("Don't notify me", E.DONT_NOTIFY),
    ("Don’t notify me", E.DONT_NOTIFY),
    ("DON’T NOTIFY ME!!!", E.DONT_NOTIFY),
    ("Don`t notify me", E.DONT_NOTIFY),
    ("Dont notify me", E.DONT_NOTIFY),
    ("Do not notify me", E.DONT_NOTIFY),
    ("do not notify me.", E.DONT_NOTIFY),
    ("Unsubscribe", E.DONT_NOTIFY),
    ("unsubscribe", E.DONT_NOTIFY),
    ("Не уведомлять", E.DONT_NOTIFY),
    ("НЕ УВЕДОМЛЯТЬ", E.DONT_NOTIFY),
    ("Не уведомляйте меня", E.DONT_NOTIFY),
    # notify
    ("Notify me", E.NOTIFY),
    ("notify me!", E.NOTIFY),
    ("Уведомлять", E.NOTIFY),
    ("уведомлять.", E.NOTIFY),
    # polite words around the command
    ("Please cancel request.", E.CANCEL),
    ("Please, cancel request", E.CANCEL),
    ("Cancel request please", E.CANCEL),
    ("Cancel request, please!", E.CANCEL),
    ("Kindly resolve this issue", E.RESOLVE),
    ("Resolve this issue, thanks", E.RESOLVE),
    ("Пожалуйста, отмените заявку", E.CANCEL),
    ("Прошу отменить заявку", E.CANCEL),
    ("Не уведомлять, спасибо", E.DONT_NOTIFY),
    # bullets and markup
    ("- Cancel request", E.CANCEL),
    ("* Resolve this issue", E.RESOLVE),
    ("• Don't notify me", E.DONT_NOTIFY),
    ("**Отменить заявку**", E.CANCEL),
    ("«Решить вопрос»", E.RESOLVE),
    ('"Notify me"', E.NOTIFY),
    # ё and е
    ("Уведомлять", E.NOTIFY),
]


@pytest.mark.parametrize(("line", "expected"), CLIENT_LINES)
def test_a_client_command_line_is_found(line: str, expected: CommandName) -> None:
    result = scan(f"Hello,\n\n{line}\n\nRegards,\nAnna")
    assert names(result) == [expected]
    assert result.commands[0].line == line.strip()
    assert result.rejected == ()


@pytest.mark.parametrize(("line", "expected"), CLIENT_LINES)
def test_a_client_command_counts_in_the_subject(line: str, expected: CommandName) -> None:
    result = scan("see subject", subject=line)
    assert names(result) == [expected]


@pytest.mark.parametrize(("line", "expected"), CLIENT_LINES)
def test_a_quoted_command_is_only_rejected(line: str, expected: CommandName) -> None:
    result = scan("Thanks for the answer.", quoted=f"On Monday Support wrote:\n> {line}\n")
    assert result.commands == ()
    assert [(r.name, r.reason) for r in result.rejected] == [(expected, "quoted")]


NOT_COMMANDS = [
    "I do not want to cancel request yet",
    "We will resolve this issue ourselves",
    "Should I cancel request or wait?",
    "How do I unsubscribe from the newsletter",
    "Cancel request was a mistake, sorry",
    "Please notify me when it is done",
    "Отменить заявку я не хочу",
    "Можно не уведомлять меня об этом?",
    "Resolve this issue as soon as you can, and tell me",
    "cancel",
    "escalation is not needed yet",
    "#hashtag",
    "#statusquo closed",
    "",
    "   ",
    "-- ",
]


@pytest.mark.parametrize("text", NOT_COMMANDS)
def test_a_command_inside_a_sentence_is_not_a_command(text: str) -> None:
    assert scan(text).commands == ()


REJECTED_LINES = [
    ("Cancel request?", E.CANCEL, "question"),
    ("Resolve?", E.RESOLVE, "question"),
    ("Отменить заявку?", E.CANCEL, "question"),
    ("Don't cancel request", E.CANCEL, "negated"),
    ("Do not cancel the request!", E.CANCEL, "negated"),
    ("Please don't resolve this issue", E.RESOLVE, "negated"),
    ("Не надо отменить заявку", E.CANCEL, "negated"),
    ("Не нужно закрыть заявку", E.RESOLVE, "negated"),
    ("Не решить вопрос", E.RESOLVE, "negated"),
    ("Don't escalate", E.ESCALATE, "negated"),
    ("Escalate?", E.ESCALATE, "question"),
]


@pytest.mark.parametrize(("line", "name", "reason"), REJECTED_LINES)
def test_a_doubtful_command_line_is_rejected(line: str, name: CommandName, reason: str) -> None:
    result = scan(line)
    assert result.commands == ()
    assert (name, reason, line) in [(r.name, r.reason, r.line) for r in result.rejected]


@pytest.mark.parametrize(
    "text",
    [
        "We decided that there is no need to\ncancel request.\n\nBob",
        "If nothing happens by Monday I will\nescalate: to my manager",
        "Я не хочу\nотменить заявку",
    ],
)
def test_the_wrapped_end_of_a_sentence_is_not_a_command(text: str) -> None:
    assert scan(text).commands == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello\ncancel request", [E.CANCEL]),
        ("Hi,\ncancel request", [E.CANCEL]),
        ("Здравствуйте\nотменить заявку", [E.CANCEL]),
        ("Don't notify me\ncancel request", [E.DONT_NOTIFY, E.CANCEL]),
        ("The phones work again.\nresolve this issue", [E.RESOLVE]),
    ],
)
def test_a_lower_case_command_below_a_greeting_or_a_full_stop_counts(
    text: str, expected: list[CommandName]
) -> None:
    assert names(scan(text)) == expected


def test_commands_at_the_top_are_found_among_prose() -> None:
    text = "Cancel request\n\nHello, the request was opened by mistake.\nSorry!\n"
    assert names(scan(text)) == [E.CANCEL]


def test_several_commands_keep_their_order() -> None:
    text = "Don't notify me\nCancel request\n"
    assert names(scan(text)) == [E.DONT_NOTIFY, E.CANCEL]


def test_a_repeated_command_counts_once() -> None:
    result = scan("Cancel request\nCancel request.", subject="Cancel request")
    assert names(result) == [E.CANCEL]
    assert result.commands[0].line == "Cancel request"  # the subject comes first
    assert {r.reason for r in result.rejected} == {"duplicate"}


def test_commands_in_new_text_count_and_quoted_ones_do_not() -> None:
    result = scan(
        "Notify me",
        quoted="> Don't notify me\n> Cancel request\n> #status closed",
    )
    assert names(result) == [E.NOTIFY]
    assert sorted((r.name, r.reason) for r in result.rejected) == [
        (E.CANCEL, "quoted"),
        (E.DONT_NOTIFY, "quoted"),
        (E.STATUS, "quoted"),
    ]


def test_a_quote_marked_line_left_in_the_new_text_is_quoted() -> None:
    result = scan("Thanks\n> Cancel request")
    assert result.commands == ()
    assert [(r.name, r.reason) for r in result.rejected] == [(E.CANCEL, "quoted")]


def test_a_subject_that_is_no_command_adds_nothing() -> None:
    assert scan("Thanks", subject="Phones do not ring").commands == ()


# -- Escalate ---------------------------------------------------------------------------

ESCALATIONS = [
    ("Escalate: no answer for a week", "no answer for a week"),
    ("escalate:no answer for a week", "no answer for a week"),
    ("ESCALATE : no answer for a week", "no answer for a week"),
    ("Escalate - no answer for a week", "no answer for a week"),
    ("Escalate — no answer for a week", "no answer for a week"),
    ("Escalate because nobody answers", "because nobody answers"),
    ("Please escalate: SLA breached", "SLA breached"),
    ("Escalation: the whole office is down", "the whole office is down"),
    ("Escalate this request: nobody answers", "nobody answers"),
    ("Эскалировать: нет ответа неделю", "нет ответа неделю"),
    ("эскалировать - нет ответа неделю", "нет ответа неделю"),
    ("Эскалация: не работают все номера", "не работают все номера"),
    ("Эскалируйте заявку: нарушен SLA", "нарушен SLA"),
    ("Прошу эскалировать: сроки прошли", "сроки прошли"),
    ("* Escalate: no answer", "no answer"),
]


@pytest.mark.parametrize(("line", "reason"), ESCALATIONS)
def test_escalate_with_the_reason_on_its_line(line: str, reason: str) -> None:
    result = scan(f"{line}\n\nBest regards,\nAnna")
    assert [(c.name, c.argument, c.line) for c in result.commands] == [(E.ESCALATE, reason, line)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Escalate\nNobody has answered for 5 days.\n\nAnna", "Nobody has answered for 5 days."),
        ("Escalate:\nNo answer.\nStill waiting.\n\nAnna", "No answer.\nStill waiting."),
        ("Escalate\n\nNo answer for a week.", "No answer for a week."),
        ("Escalate\n\nHello team,\n\nNo answer for a week.\n\nAnna", "No answer for a week."),
        ("Escalate, please\nNo answer", "No answer"),
        (
            "Эскалировать\nНикто не отвечает уже неделю\n\nС уважением",
            "Никто не отвечает уже неделю",
        ),
        ("Эскалировать\nЗдравствуйте!\nНет ответа\n", "Нет ответа"),
        ("Hello,\nEscalate\nSLA breached\nCancel request", "SLA breached"),
    ],
)
def test_escalate_with_the_reason_on_the_following_lines(text: str, reason: str) -> None:
    escalations = [c for c in scan(text).commands if c.name is E.ESCALATE]
    assert [c.argument for c in escalations] == [reason]


@pytest.mark.parametrize("text", ["Escalate", "Escalate:", "Escalate!\n\n", "Эскалировать."])
def test_escalate_without_any_reason_has_no_argument(text: str) -> None:
    result = scan(text)
    assert [(c.name, c.argument) for c in result.commands] == [(E.ESCALATE, None)]


def test_escalate_in_the_subject_reads_the_reason_from_the_new_text() -> None:
    result = scan("Hello,\n\nNo answer for a week.\n\nAnna", subject="Escalate")
    assert [(c.name, c.argument) for c in result.commands] == [
        (E.ESCALATE, "No answer for a week.")
    ]


def test_escalate_in_the_subject_yields_to_one_with_a_reason_in_the_body() -> None:
    result = scan("Escalate: no answer for a week", subject="Escalate")
    assert [(c.argument, c.line) for c in result.commands] == [
        ("no answer for a week", "Escalate: no answer for a week")
    ]


def test_escalate_with_the_reason_in_the_subject() -> None:
    result = scan("", subject="Escalate: SLA breached")
    assert [(c.name, c.argument) for c in result.commands] == [(E.ESCALATE, "SLA breached")]


# -- agent commands ----------------------------------------------------------------------

AGENT_LINES = [
    ("#status closed", E.STATUS, "closed"),
    ("#STATUS Closed.", E.STATUS, "closed"),
    ("#status: on_hold", E.STATUS, "on_hold"),
    ("#status waiting for client", E.STATUS, "waiting_for_client"),
    ("#status waiting for the client", E.STATUS, "waiting_for_client"),
    ("#status Waiting-for-client", E.STATUS, "waiting_for_client"),
    ("#status in progress", E.STATUS, "in_progress"),
    ("#status awaiting confirmation", E.STATUS, "awaiting_confirmation"),
    ("#status under analysis", E.STATUS, "under_analysis"),
    ("#status canceled", E.STATUS, "cancelled"),
    ("#status ожидает клиента", E.STATUS, "waiting_for_client"),
    ("#status в работе", E.STATUS, "in_progress"),
    ("#статус закрыта", E.STATUS, "closed"),
    ("#status no such thing", E.STATUS, "no such thing"),  # kept; the caller refuses it
    ("#status", E.STATUS, None),
    ("#note", E.NOTE, None),
    ("#NOTE", E.NOTE, None),
    ("#note called the client, waiting for logs", E.NOTE, "called the client, waiting for logs"),
    ("#заметка", E.NOTE, None),
    ("#assign me", E.ASSIGN, "me"),
    ("#assign Me.", E.ASSIGN, "me"),
    ("#assign myself", E.ASSIGN, "me"),
    ("#назначить меня", E.ASSIGN, "me"),
    ("#назначить на себя", E.ASSIGN, "me"),
    ("#assign bob@example.org", E.ASSIGN, "bob@example.org"),
    ("#assign Bob@Example.ORG", E.ASSIGN, "bob@example.org"),
    ("#assign <bob@example.org>", E.ASSIGN, "bob@example.org"),
    ("#assign Bob Smith <bob@example.org>", E.ASSIGN, "bob@example.org"),
    ("#assign mailto:bob@example.org", E.ASSIGN, "bob@example.org"),
    ("#assign Bob", E.ASSIGN, "Bob"),  # kept; the caller refuses it
    ("#assign", E.ASSIGN, None),
    ("- #status closed", E.STATUS, "closed"),
]


@pytest.mark.parametrize(("line", "name", "argument"), AGENT_LINES)
def test_an_agent_command_line_is_found(line: str, name: CommandName, argument: str | None) -> None:
    result = scan(f"{line}\n\nThe fix is deployed.")
    assert [(c.name, c.argument, c.line) for c in result.commands] == [(name, argument, line)]


def test_agent_commands_count_in_the_subject() -> None:
    result = scan("Internal: the client called.", subject="#note")
    assert names(result) == [E.NOTE]


def test_agent_and_client_commands_are_all_reported_for_the_caller_to_filter() -> None:
    result = scan("#status closed\n#assign me\nResolve this issue")
    assert names(result) == [E.STATUS, E.ASSIGN, E.RESOLVE]


# -- status words -----------------------------------------------------------------------

STATUS_WORDS = [
    ("closed", Status.CLOSED),
    ("CLOSED", Status.CLOSED),
    ("waiting_for_client", Status.WAITING_FOR_CLIENT),
    ("Waiting-for-client", Status.WAITING_FOR_CLIENT),
    ("waiting for client", Status.WAITING_FOR_CLIENT),
    ("  waiting   for the   client. ", Status.WAITING_FOR_CLIENT),
    ("in progress", Status.IN_PROGRESS),
    ("in_progress", Status.IN_PROGRESS),
    ("on hold", Status.ON_HOLD),
    ("under analysis", Status.UNDER_ANALYSIS),
    ("cancelled", Status.CANCELLED),
    ("canceled", Status.CANCELLED),
    ("awaiting confirmation", Status.AWAITING_CONFIRMATION),
    ("escalated", Status.ESCALATED),
    ("new", Status.NEW),
    ("ожидает клиента", Status.WAITING_FOR_CLIENT),
    ("Ожидает подтверждения", Status.AWAITING_CONFIRMATION),
    ("в работе", Status.IN_PROGRESS),
    ("приостановлена", Status.ON_HOLD),
    ("на анализе", Status.UNDER_ANALYSIS),
    ("отменена", Status.CANCELLED),
    ("закрыта", Status.CLOSED),
    ("эскалирована", Status.ESCALATED),
    ("новая", Status.NEW),
    ("no such status", None),
    ("", None),
    ("close it now", None),
]


@pytest.mark.parametrize(("words", "expected"), STATUS_WORDS)
def test_status_from_words(words: str, expected: Status | None) -> None:
    assert status_from_words(words) is expected


@pytest.mark.parametrize("status", list(Status))
def test_every_machine_name_is_a_status(status: Status) -> None:
    assert status_from_words(status.value) is status
    assert status_from_words(status.value.replace("_", " ")) is status


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  Don’t   Notify ME!!! ", "don't notify me"),
        ("Всё ещё", "все еще"),
        ("Resolve this issue…", "resolve this issue"),
        ("", ""),
    ],
)
def test_normalize(line: str, expected: str) -> None:
    assert normalize(line) == expected


# -- properties ----------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "Cancel request",
        "Resolve",
        "Escalate",
        "Escalate:",
        "#status",
        "#assign",
        "#note",
        "please",
        "don't",
        "не",
        "можно",
        "закрыть заявку",
        "you can close the request",
        "?",
        ".",
        ",",
        ">",
        "-",
        "*",
        "\n",
        "\n\n",
        " ",
        "ё",
        "’",
    ]
)
_TEXT = st.one_of(st.text(max_size=200), st.lists(_WORDS, max_size=30).map("".join))


@settings(max_examples=300, deadline=None)
@given(new_text=_TEXT, quoted_text=_TEXT, subject=_TEXT)
def test_scan_never_raises_and_every_command_stands_in_new_text_or_subject(
    new_text: str, quoted_text: str, subject: str
) -> None:
    result = scan_commands(new_text=new_text, quoted_text=quoted_text, subject_after_tag=subject)
    for command in result.commands:
        assert command.line
        assert command.line in new_text or command.line in subject
    assert len({c.name for c in result.commands}) == len(result.commands)


@settings(max_examples=200, deadline=None)
@given(quoted_text=_TEXT)
def test_quoted_text_alone_never_yields_a_command(quoted_text: str) -> None:
    result = scan_commands(new_text="", quoted_text=quoted_text, subject_after_tag="")
    assert result.commands == ()
    assert all(r.reason == "quoted" for r in result.rejected)


# -- phrase tables are data ------------------------------------------------------------------

GERMAN = """
language = "de"
[commands]
resolve = ["Problem gelöst"]
cancel = ["Anfrage stornieren"]
polite_prefixes = ["bitte"]
[escalate]
commands = ["eskalieren"]
[agent]
status = ["#zustand"]
[statuses]
on_hold = ["angehalten"]
[approval]
close = ["schließen"]
things = ["anfrage"]
permission = ["können", "bitte"]
[escalation.explanations]
no_reason = "Ein Grund fehlt."
"""


def test_a_new_language_is_a_data_file(tmp_path) -> None:
    german = tmp_path / "de.toml"
    german.write_text(GERMAN, encoding="utf-8")
    package = resources.files("mailgate.parse.phrases")
    book = load_phrase_book(package / "en.toml", german)
    assert book.languages == ("en", "de")
    result = scan_commands(
        new_text="Bitte Anfrage stornieren\n#zustand angehalten\nEskalieren: no answer",
        quoted_text="",
        subject_after_tag="",
        phrases=book,
    )
    assert [(c.name, c.argument) for c in result.commands] == [
        (E.CANCEL, None),
        (E.STATUS, "on_hold"),
        (E.ESCALATE, "no answer"),
    ]
    assert (
        scan_commands(
            new_text="Sie können die Anfrage schließen.",
            quoted_text="",
            subject_after_tag="",
            phrases=book,
        )
        .commands[0]
        .name
        is E.APPROVAL
    )
    assert status_from_words("angehalten", phrases=book) is Status.ON_HOLD
    assert status_from_words("ожидает клиента", phrases=book) is None  # ru not loaded


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[commands]\nresolve = ["x"]', "language"),
        ('language = "xx"\n[commands]\nclose = ["x"]', "unknown key 'close'"),
        ('language = "xx"\n[statuses]\nopen = ["x"]', "no status 'open'"),
        ('language = "xx"\n[agent]\nnote = ["note"]', "starting with #"),
        ('language = "xx"\n[approval]\nclose = "close"', "approval.close must be a list"),
        ('language = "xx"\n[commands]\nresolve = ["cancel request"]', "means both"),
    ],
)
def test_a_malformed_phrase_file_names_the_key(tmp_path, text: str, message: str) -> None:
    broken = tmp_path / "xx.toml"
    broken.write_text(text, encoding="utf-8")
    package = resources.files("mailgate.parse.phrases")
    with pytest.raises(PhraseTableError, match=re.escape(message)):
        load_phrase_book(package / "en.toml", broken)
