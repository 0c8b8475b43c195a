"""Whether two fetched messages are the same message: a digest of what its sender wrote.

The same message can come twice with different bytes: delivered again after a
timeout, each copy with its own trace (`Received`, `Delivered-To`, the
receiving MX's `Authentication-Results`, a spam score) on top; or fetched
again after a crash before it left the inbox. Two different messages can come
with the same Message-ID: anyone may write any Message-ID, a victim's future
one too. So the inbound key is not the Message-ID alone (apply/batch.py): a
message whose Message-ID is taken by a message with another digest is a
different message, kept and applied under its own key.

The digest is SHA-256 over the header block without the trace fields (below)
and the body, line ends read as LF. It is stored with the message
(`inbound.digest`): changing what it covers makes the copies of a message
stored before the change look different from those after it.

Linear in the size of the message, in C: two regular expressions and one hash.
"""

from __future__ import annotations

import hashlib
import re

# Fields a receiving server, filter or store adds, per copy: not the sender's.
# DKIM-Signature is the sender's (the same in every copy) and counts.
TRACE_FIELDS = (
    "received", "x-received", "return-path", "delivered-to", "x-original-to", "envelope-to",
    "x-envelope-to", "x-envelope-from", "authentication-results", "received-spf",
    "x-forwarded-to", "x-forwarded-for", "status", "x-status", "x-keywords", "x-uid",
    "content-length", "x-mozilla-status", "x-mozilla-status2",
)  # fmt: skip
TRACE_PREFIXES = ("arc-", "x-spam-", "x-virus-", "x-rspamd-", "x-ms-exchange-organization-")

_NAME = rb"[!-9;-~]"  # a field name's characters (RFC 5322: printable ASCII but the colon)
_TRACE = re.compile(
    rb"^(?:"
    + b"|".join(re.escape(name.encode()) for name in TRACE_FIELDS)
    + b"|(?:" + b"|".join(re.escape(p.encode()) for p in TRACE_PREFIXES) + b")" + _NAME + b"*"
    + rb")[ \t]*:[^\n]*\n?(?:[ \t][^\n]*\n?)*",
    re.IGNORECASE | re.MULTILINE,
)  # fmt: skip
# Where the header block ends: the first line that is neither a field nor a continuation
# (the empty line before the body, usually).
_HEADER_END = re.compile(rb"^(?![ \t])(?!" + _NAME + rb"+[ \t]*:)", re.MULTILINE)


def content_digest(raw: bytes) -> str:
    """SHA-256 (hex) of the message without its trace fields, as the sender wrote it."""
    buf = bytes(raw).removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    start = 0
    if buf.startswith(b"From "):  # an mbox separator line: the store's, not the sender's
        start = buf.find(b"\n") + 1 or len(buf)
    found = _HEADER_END.search(buf, start)
    end = found.start() if found is not None else len(buf)
    head = _TRACE.sub(b"", buf[start:end])
    digest = hashlib.sha256(b"%d\n" % len(head))  # where the header block ends counts
    digest.update(head)
    digest.update(memoryview(buf)[end:])
    return digest.hexdigest()
