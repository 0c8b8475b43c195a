"""The benchmark's mail with files: the small-mail corpus, some of it carrying a PDF or a PNG.

Issue 10's mix: 12 % of the messages carry one file of 5–150 KB, 3 % one of
200–600 KB, the rest none. The files are random bytes behind a real PDF or
PNG signature, incompressible like the compressed streams of real ones, and
base64-encoded as mail clients send them. The texts, senders and headers are
those of `make_corpus(count)` (the same seed), so a message without a file
is byte for byte the small corpus's, and the two backlogs differ only in
their files. Deterministic, like bench/corpus.py.
"""

from __future__ import annotations

import random
from email.message import EmailMessage

from bench.corpus import new_request

KIB = 1024
MIB = 1024 * KIB
MEDIUM_SHARE, MEDIUM_SIZES = 0.12, (5 * KIB, 150 * KIB)
LARGE_SHARE, LARGE_SIZES = 0.03, (200 * KIB, 600 * KIB)
_KINDS = [
    ("application", "pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "invoice"),
    ("image", "png", b"\x89PNG\r\n\x1a\n", "screenshot"),
]


def make_mixed_corpus(count: int, *, seed: int = 8) -> list[bytes]:
    """`make_corpus(count, seed=seed)`, with one file in 15 % of the messages."""
    chooser = random.Random(seed)
    files = random.Random(seed + 1)
    shuffled = list(range(count))
    files.shuffle(shuffled)
    medium = round(MEDIUM_SHARE * count)
    large = medium + round(LARGE_SHARE * count)
    sizes = {number: files.randint(*MEDIUM_SIZES) for number in shuffled[:medium]}
    sizes |= {number: files.randint(*LARGE_SIZES) for number in shuffled[medium:large]}
    corpus = []
    for number in range(count):
        mail = new_request(number, chooser)
        if number in sizes:
            attach_file(mail, number, sizes[number], files)
        corpus.append(mail.as_bytes())
    return corpus


def make_big_mail(size: int, *, seed: int = 8) -> bytes:
    """One new request carrying one PDF of `size` bytes."""
    mail = new_request(0, random.Random(seed))
    attach_file(mail, 0, size, random.Random(seed + 1))
    return mail.as_bytes()


def attach_file(mail: EmailMessage, number: int, size: int, files: random.Random) -> None:
    """Add a PDF (even `number`) or a PNG (odd) of `size` bytes; `mail` becomes multipart/mixed."""
    maintype, subtype, signature, stem = _KINDS[number % 2]
    data = signature + files.randbytes(size - len(signature))
    mail.add_attachment(
        data, maintype=maintype, subtype=subtype, filename=f"{stem}-{number}.{subtype}"
    )
    mail.set_boundary(f"=_mixed_{number:08d}_=")  # the email package picks a random one
