"""Admins' template overrides: one file in `templates_dir` replaces the shipped one of its
name, the rest still come from the shipped set, and a broken override stops `run` and
`check` at start with the file named (mailgate/template_check.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailgate.config import DEFAULT_TEMPLATES_DIR
from mailgate.errors import ConfigError
from mailgate.notify import Renderer, Sender, read_labels
from mailgate.template_check import SAMPLES, check_templates, sample_notices
from tests.harness import TEAM
from tests.mails import phones_down

CLIENT = "client@corp.example"
NOW = "2026-11-26T10:00:00+03:00"


def overrides(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / "overrides" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory / "overrides"


def test_one_file_replaces_the_shipped_one_and_the_rest_stay_shipped(make_gate, tmp_path) -> None:
    folder = overrides(tmp_path, {"en/created.txt": "Thanks! Your request is [{{ tag }}].\n"})
    gate = make_gate(templates_dir=str(folder))
    gate.deliver(phones_down(client=CLIENT, cc="boss@corp.example", message_id="m1@corp.example"))
    gate.run_once(NOW)
    [ack] = gate.sent_to(CLIENT)
    text = ack.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == "Thanks! Your request is [REQ-1].\n"
    assert "REQ-1" in ack.get_body(("html",)).get_content()  # the shipped HTML
    [notice] = gate.sent_to(TEAM)  # a template not overridden at all
    assert "all our phones are down" in notice.get_body(("plain",)).get_content()


def test_an_overridden_layout_serves_every_template_that_extends_it(tmp_path) -> None:
    shipped = (DEFAULT_TEMPLATES_DIR / "en" / "_client.txt").read_text(encoding="utf-8")
    folder = overrides(
        tmp_path, {"en/_client.txt": shipped.replace("· request [", "· your request [")}
    )
    rendered = [
        render(folder, notice)
        for notice in sample_notices(folder)
        if notice.language == "en" and not notice.template.startswith(("agent_", "check"))
    ]
    assert rendered and all("· your request [REQ-1]" in text for text in rendered)


def render(folder: Path, notice) -> str:
    renderer = Renderer(
        folder,
        sender=Sender(address="support@example.org", name="Support"),
        tag_prefix="REQ",
        timezone=ZoneInfo("UTC"),
    )
    return renderer.render(
        notice,
        request_number=1,
        request_subject="Phones",
        thread_ids=[],
        now=dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
    ).text


def test_an_overridden_label_keeps_the_other_labels(tmp_path) -> None:
    folder = overrides(tmp_path, {"en/labels.toml": '[status_label]\nnew = "received"\n'})
    labels = read_labels(folder, "en")
    assert labels["status_label"]["new"] == "received"
    assert labels["status_label"]["closed"] == "closed"
    assert labels["refusal_text"] == read_labels(DEFAULT_TEMPLATES_DIR, "en")["refusal_text"]


def test_a_broken_labels_file_is_a_config_error_naming_it(tmp_path) -> None:
    folder = overrides(tmp_path, {"ru/labels.toml": "[status_label\n"})
    with pytest.raises(ConfigError) as caught:
        read_labels(folder, "ru")
    assert caught.value.key == "templates_dir"
    assert str(folder / "ru" / "labels.toml") in caught.value.problem


def test_every_shipped_template_has_sample_data_and_renders_with_it() -> None:
    on_disk = {
        (path.parent.name, path.stem)
        for path in DEFAULT_TEMPLATES_DIR.glob("*/*.txt")
        if not path.name.startswith("_")
    }
    sampled = {(notice.language, notice.template) for notice in sample_notices()}
    assert sampled == on_disk
    assert set(SAMPLES) == {name for _, name in on_disk}
    for notice in sample_notices():
        assert render(DEFAULT_TEMPLATES_DIR, notice)


def install_with(folder: Path, make_gate):
    return make_gate(templates_dir=str(folder)).app.install


BROKEN = {
    "syntax": ("en/created.html", "<p>{% if tag %}unclosed</p>\n", "line 1"),
    "undefined": (
        "ru/closed.txt",
        "Заявка {{ tag }} закрыта, {{ client_name }}.\n",
        "'client_name' is undefined",
    ),
    "partial": (
        "en/_client.html",
        "<html>{% block body %}{% endblock %}{{ footer }}</html>",
        "'footer' is undefined",
    ),
    "filter": (
        "en/reminder.txt",
        "{{ request.auto_close_at | nosuchfilter }}\n",
        "No filter named 'nosuchfilter'",
    ),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_override_is_a_config_error_naming_the_file(kind, make_gate, tmp_path) -> None:
    name, text, problem = BROKEN[kind]
    folder = overrides(tmp_path, {name: text})
    with pytest.raises(ConfigError) as caught:
        check_templates(install_with(folder, make_gate))
    assert caught.value.key == "templates_dir"
    assert str(folder / name) in caught.value.problem
    assert problem in caught.value.problem


def test_a_good_override_passes_the_check(make_gate, tmp_path) -> None:
    folder = overrides(tmp_path, {"en/created.txt": "Request [{{ tag }}]: {{ text }}\n"})
    check_templates(install_with(folder, make_gate))


@pytest.mark.parametrize("command", [("run", "--once"), ("check",)])
def test_run_and_check_stop_before_any_mail(command, make_gate, tmp_path) -> None:
    folder = overrides(tmp_path, {"en/agent_answer.html": "{{ answer_html.nope() }}"})
    gate = make_gate(templates_dir=str(folder))
    result = gate.cli(*command, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("mailgate: config error: templates_dir: ")
    assert str(folder / "en" / "agent_answer.html") in result.stderr
    assert "imap" not in result.stdout.lower()  # no step of `check` was walked
    assert gate.query("SELECT count(*) FROM inbound") == [(0,)]
