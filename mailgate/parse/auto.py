"""Is this message from a machine? Auto-replies, lists, bounces and loops (SPEC §5)."""

from __future__ import annotations

from mailgate.parse.mime import DecodedMail

_MACHINE_LOCALPARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply")


def classify_machine_mail(mail: DecodedMail, *, own_addresses: frozenset[str]) -> str | None:
    """A short reason when the message was sent by a machine, else None."""
    auto_submitted = (mail.header("auto-submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted}"
    precedence = (mail.header("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"precedence: {precedence}"
    if mail.header("x-auto-response-suppress") is not None:
        return "x-auto-response-suppress"
    if mail.header("list-id") is not None:
        return "list-id"
    return_path = mail.header("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        return "empty return-path"
    sender = (mail.header("from") or "").lower()
    for localpart in _MACHINE_LOCALPARTS:
        if f"{localpart}@" in sender:
            return f"machine sender: {localpart}@"
    if any(address in sender for address in own_addresses):
        return "own address"
    return None
