"""Hostile text shapes through each reading stage: CPU seconds per MiB, and how they grow.

    .venv/bin/python -m bench.hostile [--sizes 64K,256K,1M,4M] [--shapes a,b] [--quick]

For each shape (a long line of spaces, one phrase repeated, deep `>` nesting,
a huge header block, HTML nested deep, KOI8-R text, ...) and each size, a
realistic reply is built around a body of about that many bytes (a client's
reply to a notice: tag in the subject, In-Reply-To, a greeting, the hostile
body, a sign-off, the notice quoted under an attribution), and every stage
mailgate runs on it is timed on its own, in CPU time (`time.process_time`),
the best of a few runs:

| column | what runs |
|---|---|
| decode | `parse.mimetree.decode`: header blocks, the MIME tree, transfer and charset decoding |
| html | `parse.html.html_to_text` of the HTML body (its cache cleared) |
| split | `parse.newtext.split_reply`: quotes, attributions, signatures (the new text) |
| block | `newtext._starts_quoted_part` on every line, `signoff.signature_start` |
| cmds | `parse.commands.find_commands` on the whole new text, approvals off |
| appr | `parse.approval.find_approval` on the whole new text (no cap) |
| esc | `parse.escalation.judge_escalation_reason` of the whole new text as the reason |
| auto | `parse.auto.classify_machine_mail` and `parse.bounce.read_bounce` |
| parse | `parse.parse_message`, the whole of it |
| +cmds | `parse_message`, `scan_commands` (as `mailgate parse`), `find_commands` (deciding) |

Stages get the text of the body uncut (`decode(..., max_text_bytes=None)`
where the parser has the cap), so a stage that grows faster than its input
shows at every size; `parse` and `+cmds` run as the worker does, with the
default `max_text_bytes`. Each cell is seconds per MiB of the message; below
each size after the first, `^` rows give the growth exponent from the size
before, log(t2/t1)/log(s2/s1), where both times are at least 5 ms (else "·").
A stage whose time at the next size would pass `--budget` seconds at the
growth seen so far is not run there ("skip"). Goals (issue 20): every cell
≤ 1 s/MiB and every exponent ≤ 1.15.

`--quick` runs two small sizes (4K, 16K) of every shape, for a smoke test. The script
imports nothing from this checkout but `mailgate`, so a copy of it measures
another tree: `cp bench/hostile.py /tmp/other/bench/ && cd /tmp/other &&
PYTHONPATH=. /path/to/python -m bench.hostile`.
"""

from __future__ import annotations

import argparse
import base64
import inspect
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

TAG_PREFIX = "REQ"
SUPPORT = "support@example.org"
OWN = frozenset({SUPPORT})
_MiB = 1024 * 1024
_FLOOR = 0.005  # seconds: below this an exponent is noise
_GOAL_PER_MIB = 1.0
_GOAL_EXPONENT = 1.15

APPROVAL_PHRASE = "you can close the request, everything works"


# -- shapes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    content_type: str  # "text/plain", "text/html"
    body: bytes  # as sent (transfer-encoded already)
    charset: str = "utf-8"
    encoding: str = "8bit"


@dataclass(frozen=True)
class Shape:
    name: str
    what: str
    build: Callable[[int], list[Part] | bytes]  # size -> the parts, or a whole raw message


def _repeat(unit: str, size: int, *, encoding: str = "utf-8") -> bytes:
    """`unit` repeated to about `size` bytes (whole units)."""
    data = unit.encode(encoding)
    return data * max(1, size // len(data))


def _wrapped(phrase: str, size: int, width: int = 72) -> str:
    """`phrase` repeated as one paragraph, wrapped as a mail client wraps it: no full stop,
    so every line but the first starts in lower case and the whole is one sentence."""
    words = (phrase + " ").split() * max(1, size // (len(phrase) + 1))
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines) + "\n"


def _plain(text: str | bytes, charset: str = "utf-8") -> list[Part]:
    body = text if isinstance(text, bytes) else text.encode(charset)
    return [Part("text/plain", body, charset)]


def _html(markup: str) -> list[Part]:
    return [Part("text/html", markup.encode("utf-8"))]


def _qp_equals(size: int) -> list[Part]:
    # Raw "=" runs declared quoted-printable: every "=" starts a broken escape.
    return [Part("text/plain", b"=" * size + b"\n", encoding="quoted-printable")]


def _deep_quotes(size: int) -> list[Part]:
    lines, total, depth = [], 0, 1
    while total < size:
        line = ">" * depth + " quoted text at this depth"
        lines.append(line)
        total += len(line) + 1
        depth = depth % 1000 + 1
    return _plain("\n".join(lines) + "\n")


def _html_nested(size: int) -> list[Part]:
    depth = max(1, size // 12)
    return _html("<div>" * depth + "text" + "</div>" * depth)


def _html_blockquotes(size: int) -> list[Part]:
    depth = max(1, size // 40)
    return _html("<blockquote>quoted " * depth + "</blockquote>" * depth)


def _html_attributes(size: int) -> list[Part]:
    count = max(1, size // 12)
    attributes = " ".join(f'a{index}="x"' for index in range(count))
    return _html(f"<p {attributes}>you can close the request</p>")


def _html_comment(size: int) -> list[Part]:
    return _html("<p>Hello</p><!--" + "x -- y " * max(1, size // 7) + "--><p>Thanks</p>")


def _html_unclosed_comment(size: int) -> list[Part]:
    return _html("<p>Hello</p><!--" + "<p>x</p>" * max(1, size // 8))


def _html_stray_end_tags(size: int) -> list[Part]:
    return _html("<div>" * 400 + "</span>" * max(1, size // 7) + "text")


def _html_entities(size: int) -> list[Part]:
    return _html("<p>" + "&amp;&#1046;&lt;" * max(1, size // 16) + "</p>")


def _html_paragraphs(size: int) -> list[Part]:
    return _html(("<p>" + APPROVAL_PHRASE + "</p>\n") * max(1, size // 52))


def _koi8(size: int) -> list[Part]:
    text = _wrapped("всё работает, заявку можно закрыть", size // 2)
    return [Part("text/plain", text.encode("koi8_r"), "koi8-r")]


def _koi8_unlabelled(size: int) -> list[Part]:
    text = _wrapped("всё работает, заявку можно закрыть", size // 2)
    return [Part("text/plain", text.encode("koi8_r"), "")]


def _utf8_russian(size: int) -> list[Part]:
    return _plain(_wrapped("всё работает, заявку можно закрыть", size // 2))


def _mixed_charsets(size: int) -> list[Part]:
    quarter = max(1, size // 4)
    text = _wrapped("Всё работает, заявку можно закрыть. Спасибо", quarter // 2)
    return [
        Part("text/plain", text.encode("koi8_r"), "koi8-r"),
        Part("text/plain", text.encode("cp1251"), "koi8-r"),  # mislabelled
        Part("text/plain", text.encode("utf-8"), "windows-1251"),  # mislabelled
        Part("text/plain", base64.encodebytes(text.encode("cp1251")), "", "base64"),
    ]


def _many_parts(size: int) -> list[Part]:
    count = min(1900, max(2, size // 512))
    each = max(16, size // count)
    return [Part("text/plain", _repeat("fine, thank you ", each)) for _ in range(count)]


def _eight_parts(size: int) -> list[Part]:
    return [Part("text/plain", _wrapped(APPROVAL_PHRASE, size // 8).encode()) for _ in range(8)]


def _header_block(size: int) -> bytes:
    fields = "".join(f"X-Filler-{index}: value {index}\r\n" for index in range(max(1, size // 28)))
    return _message([Part("text/plain", b"Thanks, it works now.\r\n")], extra_headers=fields)


SHAPES: tuple[Shape, ...] = (
    Shape("spaces", "one line of spaces", lambda s: _plain(" " * s + "x\n")),
    Shape("gt", "one line of '>'", lambda s: _plain(">" * s + "\n")),
    Shape("gt-text", "'> ' runs inside one line", lambda s: _plain("a > " * (s // 4) + "\n")),
    Shape("equals", "one line of '=' sent as quoted-printable", _qp_equals),
    Shape("equals-8bit", "one line of '='", lambda s: _plain("=" * s + "\n")),
    Shape("dashes", "one line of '-'", lambda s: _plain("-" * s + "\n")),
    Shape("word", "one word, no spaces", lambda s: _plain("a" * s + "\n")),
    Shape("short-lines", "many short lines", lambda s: _plain(_repeat("ok\n", s))),
    Shape("blank-lines", "blank lines", lambda s: _plain("Hello\n" + "\n" * s + "bye\n")),
    Shape(
        "approval",
        f"'{APPROVAL_PHRASE}' wrapped, one sentence",
        lambda s: _plain(_wrapped(APPROVAL_PHRASE, s)),
    ),
    Shape(
        "approval-lines",
        "the approval phrase, one line each",
        lambda s: _plain(_repeat(APPROVAL_PHRASE + "\n", s)),
    ),
    Shape(
        "command-lines", "'Cancel request' lines", lambda s: _plain(_repeat("Cancel request\n", s))
    ),
    Shape(
        "escalate-lines",
        "'Escalate: ...' lines",
        lambda s: _plain(_repeat("Escalate: no answer for a week, please\n", s)),
    ),
    Shape(
        "escalate-long",
        "one 'Escalate:' with the reason on one line",
        lambda s: _plain("Escalate: " + _repeat("the phones still fail ", s).decode()),
    ),
    Shape("deep-quotes", "'>' nesting 1..1000 deep", _deep_quotes),
    Shape("from-lines", "'From: x@y' lines", lambda s: _plain(_repeat("From: x@y\n", s))),
    Shape(
        "header-lines",
        "From/Sent/To lines, blank between",
        lambda s: _plain(_repeat("From: a@b.c\n\nSent: Monday\n\nTo: d@e.f\n\n", s)),
    ),
    Shape(
        "wrote-lines",
        "'On ... wrote:' lines",
        lambda s: _plain(_repeat("On Monday, Bob Smith wrote:\n", s)),
    ),
    Shape(
        "wrote-dated",
        "'On <date> <address> wrote:' lines, blank between",
        lambda s: _plain(_repeat("On 25.11.2026 10:00 Bob <bob@example.com> wrote:\n\n", s)),
    ),
    Shape("sign-offs", "'Best regards,' lines", lambda s: _plain(_repeat("Best regards,\n", s))),
    Shape(
        "separators",
        "'-----Original Message-----' lines, blank between",
        lambda s: _plain(_repeat("Original Message\n\n", s)),
    ),
    Shape(
        "shared-lines",
        "text and 'On … wrote:' on one line, lead words repeated (issue 21)",
        lambda s: _plain(_repeat("bla On a On b On c-- On Tue, 8 Dec 2026 <a@b.c> wrote:\n", s)),
    ),
    Shape(
        "forwards",
        "'Forwarded message' blocks one under another (issue 21)",
        lambda s: _plain(
            _repeat("---------- Forwarded message ---------\nFrom: a <a@b.example>\n\nx\n", s)
        ),
    ),
    Shape(
        "rule-lines",
        "lines of dashes over quoted lines (issue 21)",
        lambda s: _plain(_repeat("text\n------------------------------\n> q\n", s)),
    ),
    Shape("headers", "a huge header block", _header_block),
    Shape("many-parts", "up to 1,900 inline text parts", _many_parts),
    Shape("eight-parts", "eight text parts of the approval phrase", _eight_parts),
    Shape("html-nested", "<div> nested deep", _html_nested),
    Shape("html-quotes", "<blockquote> nested deep", _html_blockquotes),
    Shape("html-attrs", "one tag with many attributes", _html_attributes),
    Shape("html-comment", "one long comment", _html_comment),
    Shape("html-open-comment", "a comment never closed", _html_unclosed_comment),
    Shape("html-end-tags", "400 open <div>, then stray end tags", _html_stray_end_tags),
    Shape("html-entities", "character references", _html_entities),
    Shape("html-paragraphs", "<p> of the approval phrase", _html_paragraphs),
    Shape(
        "html-citations",
        "short plain <blockquote>s between the sender's lines (issue 21)",
        lambda s: _html("<div>text</div><blockquote>cited</blockquote>\n" * max(1, s // 45)),
    ),
    Shape("koi8-r", "Russian in KOI8-R, labelled", _koi8),
    Shape("koi8-bare", "Russian in KOI8-R, no label", _koi8_unlabelled),
    Shape("utf8-ru", "Russian in UTF-8", _utf8_russian),
    Shape("mixed", "four parts, KOI8-R/cp1251/UTF-8, mislabelled", _mixed_charsets),
)

_QUOTED_NOTICE = (
    "On Wed, 25 Nov 2026 at 09:00, Support <support@example.org> wrote:\r\n"
    "> Your request REQ-42 is waiting for your answer.\r\n"
    "> Reply to this mail to answer.\r\n"
)


def _message(parts: list[Part], *, extra_headers: str = "") -> bytes:
    """A client's reply to a notice of request REQ-42, around `parts`."""
    head = (
        "Return-Path: <client@example.com>\r\n"
        "From: Client <client@example.com>\r\n"
        f"To: Support <{SUPPORT}>\r\n"
        f"Subject: Re: [{TAG_PREFIX}-42] The printer on the third floor\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0300\r\n"
        "Message-ID: <hostile.1@example.com>\r\n"
        "In-Reply-To: <notice.42@example.org>\r\n"
        "References: <request.42@example.org> <notice.42@example.org>\r\n"
        "User-Agent: Mozilla Thunderbird 128.5.0\r\n"
        f"{extra_headers}"
        "MIME-Version: 1.0\r\n"
    )
    bodies = []
    for part in parts:
        prefix = b"Hello,\r\n\r\n" if part.content_type == "text/plain" else b""
        suffix = (
            b"\r\nBest regards,\r\nIvan Petrov\r\n\r\n" + _QUOTED_NOTICE.encode()
            if part.content_type == "text/plain" and part.encoding != "base64"
            else b""
        )
        charset = f"; charset={part.charset}" if part.charset else ""
        headers = (
            f"Content-Type: {part.content_type}{charset}\r\n"
            f"Content-Transfer-Encoding: {part.encoding}\r\n"
        ).encode()
        bodies.append((headers, prefix + part.body + suffix))
    if len(bodies) == 1:
        headers, body = bodies[0]
        return head.encode() + headers + b"\r\n" + body
    boundary = b"==hostile-boundary=="
    out = [head.encode(), b'Content-Type: multipart/mixed; boundary="', boundary, b'"\r\n\r\n']
    for headers, body in bodies:
        out += [b"--", boundary, b"\r\nContent-Disposition: inline\r\n", headers, b"\r\n", body]
        out.append(b"\r\n")
    out += [b"--", boundary, b"--\r\n"]
    return b"".join(out)


def build(shape: Shape, size: int) -> bytes:
    made = shape.build(size)
    return made if isinstance(made, bytes) else _message(made)


# -- stages -------------------------------------------------------------------------------

STAGES = ("decode", "html", "split", "block", "cmds", "appr", "esc", "auto", "parse", "+cmds")


@dataclass
class Inputs:
    raw: bytes
    mail: object  # DecodedMail, uncut
    lines: list[str]
    new_text: str


def _accepts(function: Callable[..., object], name: str) -> bool:
    return name in inspect.signature(function).parameters


def prepare(raw: bytes) -> Inputs:
    from mailgate.parse.mimetree import decode
    from mailgate.parse.newtext import split_reply

    mail = decode(raw, max_text_bytes=None) if _accepts(decode, "max_text_bytes") else decode(raw)
    plain = mail.plain if mail.plain is not None else ""
    lines = plain.replace("\r\n", "\n").split("\n") if plain.strip() else []
    new_text = split_reply(mail.plain, mail.html).new_text
    return Inputs(raw=raw, mail=mail, lines=lines, new_text=new_text)


def stage_call(stage: str, inputs: Inputs) -> Callable[[], object]:
    """A call that runs one stage on prepared inputs."""
    from mailgate.parse import parse_message
    from mailgate.parse.approval import find_approval
    from mailgate.parse.auto import classify_machine_mail
    from mailgate.parse.bounce import read_bounce
    from mailgate.parse.commands import find_commands, scan_commands
    from mailgate.parse.escalation import judge_escalation_reason
    from mailgate.parse.html import html_to_text, render_html
    from mailgate.parse.mimetree import decode
    from mailgate.parse.newtext import _starts_quoted_part, split_reply
    from mailgate.parse.signoff import signature_start

    mail = inputs.mail
    uncut = {"max_text_bytes": None} if _accepts(decode, "max_text_bytes") else {}
    all_lines = {"limit": None} if _accepts(find_commands, "limit") else {}
    whole_reason = {"limit": None} if _accepts(judge_escalation_reason, "limit") else {}

    def html() -> object:
        render_html.cache_clear()
        return html_to_text(mail.html or "")

    def split() -> object:
        render_html.cache_clear()
        return split_reply(mail.plain, mail.html)

    def block() -> object:
        lines = inputs.lines
        starts = [_starts_quoted_part(lines, index) for index in range(len(lines))]
        return starts, signature_start(lines, [True] * len(lines))

    def auto() -> object:
        render_html.cache_clear()
        return classify_machine_mail(mail, own_addresses=OWN), read_bounce(mail)

    def parse() -> object:
        render_html.cache_clear()
        return parse_message(inputs.raw, tag_prefix=TAG_PREFIX, own_addresses=OWN)

    def parse_and_commands() -> object:
        message = parse()
        scan_commands(
            new_text=message.new_text,
            quoted_text=message.quoted_text,
            subject_after_tag=message.subject_after_tag,
        )
        return find_commands(new_text=message.new_text, subject_after_tag="")

    return {
        "decode": lambda: decode(inputs.raw, **uncut),
        "html": html,
        "split": split,
        "block": block,
        "cmds": lambda: find_commands(
            new_text=inputs.new_text, subject_after_tag="", approvals=False, **all_lines
        ),
        "appr": lambda: find_approval(inputs.new_text),
        "esc": lambda: judge_escalation_reason(inputs.new_text, **whole_reason),
        "auto": auto,
        "parse": parse,
        "+cmds": parse_and_commands,
    }[stage]


def cpu_time(call: Callable[[], object], *, repeat: int, enough: float) -> float:
    """The best CPU time of up to `repeat` runs, stopping once `enough` seconds were spent."""
    best = math.inf
    spent = 0.0
    for _ in range(repeat):
        start = time.process_time()
        call()
        took = time.process_time() - start
        best = min(best, took)
        spent += took
        if spent >= enough:
            break
    return best


# -- the table ----------------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().upper()
    for suffix, factor in (("K", 1024), ("M", _MiB)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def size_name(size: int) -> str:
    if size >= _MiB and size % _MiB == 0:
        return f"{size // _MiB}M"
    return f"{size // 1024}K" if size % 1024 == 0 else str(size)


def exponent(t1: float | None, t2: float | None, s1: int, s2: int) -> float | None:
    if t1 is None or t2 is None or min(t1, t2) < _FLOOR:
        return None
    return math.log(t2 / t1) / math.log(s2 / s1)


@dataclass
class Cell:
    seconds: float | None  # None: not run
    size: int  # bytes of the raw message


def measure_shape(
    shape: Shape, sizes: list[int], *, budget: float, repeat: int, out=sys.stdout
) -> dict[str, list[Cell]]:
    """Every stage of one shape at every size, printed as it goes."""
    cells: dict[str, list[Cell]] = {stage: [] for stage in STAGES}
    print(f"\n{shape.name}: {shape.what}", file=out)
    print(f"  {'size':>6}  " + "  ".join(f"{stage:>7}" for stage in STAGES), file=out)
    for position, size in enumerate(sizes):
        raw = build(shape, size)
        inputs = prepare(raw)
        row = []
        for stage in STAGES:
            previous = cells[stage][-1] if cells[stage] else None
            if previous is not None and (
                previous.seconds is None or _predicted(cells[stage], len(raw)) > budget
            ):
                seconds = None
            else:
                seconds = cpu_time(stage_call(stage, inputs), repeat=repeat, enough=0.3)
            cells[stage].append(Cell(seconds, len(raw)))
            row.append("skip" if seconds is None else f"{seconds / (len(raw) / _MiB):.3f}")
        print(f"  {size_name(size):>6}  " + "  ".join(f"{cell:>7}" for cell in row), file=out)
        if position:
            growth = []
            for stage in STAGES:
                before, now = cells[stage][-2], cells[stage][-1]
                value = exponent(before.seconds, now.seconds, before.size, now.size)
                growth.append("·" if value is None else f"{value:.2f}")
            print(f"  {'^':>6}  " + "  ".join(f"{cell:>7}" for cell in growth), file=out)
        out.flush()
    return cells


def _predicted(cells: list[Cell], size: int) -> float:
    """The next time at the growth seen so far (at least linear)."""
    last = cells[-1]
    assert last.seconds is not None
    growth = 1.0
    if len(cells) >= 2:
        value = exponent(cells[-2].seconds, last.seconds, cells[-2].size, last.size)
        growth = max(growth, value or 1.0)
    return last.seconds * (size / last.size) ** growth


def summarize(results: dict[str, dict[str, list[Cell]]], out=sys.stdout) -> bool:
    """The worst s/MiB and exponent per shape, and whether the goals hold."""
    print("\nworst per shape (s/MiB, exponent; stage):", file=out)
    met = True
    for name, cells in results.items():
        worst_rate, rate_stage, worst_growth, growth_stage, skipped = 0.0, "", 0.0, "", False
        for stage, row in cells.items():
            for index, cell in enumerate(row):
                if cell.seconds is None:
                    skipped = True
                    continue
                rate = cell.seconds / (cell.size / _MiB)
                if rate > worst_rate:
                    worst_rate, rate_stage = rate, stage
                if index:
                    value = exponent(
                        row[index - 1].seconds, cell.seconds, row[index - 1].size, cell.size
                    )
                    if value is not None and value > worst_growth:
                        worst_growth, growth_stage = value, stage
        ok = not skipped and worst_rate <= _GOAL_PER_MIB and worst_growth <= _GOAL_EXPONENT
        met = met and ok
        print(
            f"  {name:<18} {worst_rate:7.3f} ({rate_stage:<6}) {worst_growth:5.2f} "
            f"({growth_stage or '-':<6}) {'ok' if ok else 'NOT MET' + (' (skipped)' * skipped)}",
            file=out,
        )
    print(
        f"goals (≤ {_GOAL_PER_MIB} s/MiB, exponent ≤ {_GOAL_EXPONENT}, nothing skipped): "
        f"{'met' if met else 'NOT met'}",
        file=out,
    )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64K,256K,1M,4M")
    parser.add_argument("--shapes", default="", help="comma-separated names (default: all)")
    parser.add_argument("--quick", action="store_true", help="sizes 4K,16K: a smoke test")
    parser.add_argument(
        "--budget", type=float, default=30.0, help="seconds one stage may take at one size"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (the best counts)")
    parser.add_argument("--list", action="store_true", help="list the shapes and stop")
    args = parser.parse_args(argv)
    if args.list:
        for shape in SHAPES:
            print(f"{shape.name:<18} {shape.what}")
        return 0
    chosen = "4K,16K" if args.quick else args.sizes
    sizes = sorted(parse_size(text) for text in chosen.split(","))
    wanted = [name.strip() for name in args.shapes.split(",") if name.strip()]
    known = {shape.name: shape for shape in SHAPES}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        parser.error(f"unknown shapes: {', '.join(unknown)} (see --list)")
    shapes = [known[name] for name in wanted] if wanted else list(SHAPES)
    print(f"CPU seconds per MiB of message, best of {args.repeat}; '^': growth exponent")
    results = {
        shape.name: measure_shape(shape, sizes, budget=args.budget, repeat=args.repeat)
        for shape in shapes
    }
    summarize(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
