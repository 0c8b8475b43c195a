"""The man page and the shell completion come from the parser: every command and
option is in both, the roff renders without a warning, the bash script completes."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mailgate.cli import _parser
from mailgate.cli_docs import commands, completion, leaves, manpage

PARSER = _parser()
LEAVES = leaves(PARSER)


def test_every_command_and_option_is_in_the_man_page():
    page = manpage(PARSER)
    names = {command.name for command in LEAVES}
    assert {"init", "run", "check", "requests list", "requests set-status", "held release",
            "config show", "completion", "manpage", "parse"} <= names  # fmt: skip
    for command in LEAVES:
        assert f"\n.SS {command.name.replace('-', chr(92) + '-')}\n" in page
        for option in command.options():
            if option.option_strings != ["-h", "--help"]:
                flag = option.option_strings[-1].replace("-", "\\-")
                assert flag in page.split(f".SS {command.name.replace('-', chr(92) + '-')}")[1]
    assert ".SH EXIT STATUS" in page and "\n.B 64\n" in page and "\n.B 6\n" in page


@pytest.mark.skipif(shutil.which("man") is None, reason="no man(1) to render with")
def test_the_man_page_renders_without_warnings(tmp_path):
    (tmp_path / "mailgate.1").write_text(manpage(PARSER))
    result = subprocess.run(["man", "--warnings", "-l", str(tmp_path / "mailgate.1")],
                            capture_output=True, text=True, timeout=30,
                            env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert result.returncode == 0 and result.stderr == ""
    assert "requests set-status" in result.stdout


def complete(script: str, *words: str) -> list[str]:
    """What bash offers after `mailgate WORDS` (the last word is the one completed)."""
    line = " ".join(f"'{w}'" for w in ("mailgate", *words))
    program = (f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _mailgate\n"
               'printf "%s\\n" "${COMPREPLY[@]}"')  # fmt: skip
    result = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_bash_completes_commands_actions_options_and_choices():
    script = completion(PARSER, "bash")
    top = complete(script, "")
    assert {command.words[0] for command in commands(PARSER) if command.words} <= set(top)
    assert "--config" in top
    assert set(complete(script, "requests", "")) >= {"list", "show", "set-status", "note"}
    assert complete(script, "requests", "list", "--st") == ["--status"]
    assert "waiting_for_client" in complete(script, "requests", "list", "--status", "")
    assert complete(script, "--log-level", "DE") == ["DEBUG"]
    assert complete(script, "run", "--log-format", "") == ["text", "json"]


def test_zsh_loads_the_same_script_through_bashcompinit():
    script = completion(PARSER, "zsh")
    assert script.startswith("#compdef mailgate\nautoload -U +X bashcompinit && bashcompinit\n")
    assert script.endswith(completion(PARSER, "bash"))
