"""Reply tokens: made and recognised; forged or altered ones are not."""

from mailgate.reply_tokens import (
    BounceToken,
    ReplyToken,
    agent_token_address,
    bounce_address,
    find_bounce_token,
    find_token,
    token_address,
)

SECRET = "0123456789abcdef-secret"
SUPPORT = "support@example.org"


def test_round_trip():
    address = token_address(SUPPORT, SECRET, request=12, participant=3)
    assert address.startswith("support+12.3.") and address.endswith("@example.org")
    found = find_token(["other@x.example", address.upper()], support_address=SUPPORT, secret=SECRET)
    assert found == ReplyToken(request=12, participant=3)


def test_forged_or_altered_tokens_are_refused():
    address = token_address(SUPPORT, SECRET, request=12, participant=3)
    mac = address.split(".")[2].split("@")[0]
    forged = [
        address.replace("+12.", "+13."),  # another request, same MAC
        address.replace(".3.", ".4."),  # another participant
        f"support+12.3.{'0' * 16}@example.org",
        address.replace("@example.org", "@evil.example"),
        address.replace("support+", "sales+"),
        f"support+12.3.{mac[:-1]}@example.org",
    ]
    for candidate in forged:
        assert find_token([candidate], support_address=SUPPORT, secret=SECRET) is None
    assert find_token([address], support_address=SUPPORT, secret="another-secret-123") is None


def test_plain_support_address_is_no_token():
    assert (
        find_token([SUPPORT, "support+x@example.org"], support_address=SUPPORT, secret=SECRET)
        is None
    )


def test_a_return_path_names_its_notification_and_nothing_else():
    address = bounce_address(SUPPORT, SECRET, outbound=4711)
    assert address.startswith("support+b.4711.") and address.endswith("@example.org")
    found = find_bounce_token([SUPPORT, f"<{address.upper()}>"], support_addresses=[SUPPORT],
                              secret=SECRET)  # fmt: skip
    assert found == BounceToken(outbound=4711, address=address, valid=True)
    # Another mailbox's address of the install takes it too: one secret, one outbox.
    other = bounce_address("billing@example.net", SECRET, outbound=5)
    assert find_bounce_token([other], support_addresses=[SUPPORT, "billing@example.net"],
                             secret=SECRET).valid  # fmt: skip


def test_a_forged_return_path_is_found_but_proves_nothing():
    address = bounce_address(SUPPORT, SECRET, outbound=4711)
    mac = address.split(".")[2].split("@")[0]
    for forged in (
        address.replace("+b.4711.", "+b.4712."),  # another notification, same MAC
        f"support+b.4711.{'0' * 16}@example.org",
        f"support+b.4711.{mac[:-1]}@example.org",
        bounce_address(SUPPORT, "another-secret-123", outbound=4711),
    ):
        found = find_bounce_token([forged], support_addresses=[SUPPORT], secret=SECRET)
        assert found is not None and not found.valid, forged
    # Not our address at all, or another kind of token: not even a forged return path.
    for other in (address.replace("@example.org", "@evil.example"),
                  address.replace("support+", "sales+"),
                  agent_token_address(SUPPORT, SECRET, request=4711),
                  token_address(SUPPORT, SECRET, request=4711, participant=1)):  # fmt: skip
        assert find_bounce_token([other], support_addresses=[SUPPORT], secret=SECRET) is None
    # A valid one wins over a forged one beside it.
    found = find_bounce_token([f"support+b.1.{'0' * 16}@example.org", address],
                              support_addresses=[SUPPORT], secret=SECRET)  # fmt: skip
    assert found is not None and found.valid and found.outbound == 4711


def test_return_path_macs_are_not_reply_token_macs():
    """The same number signs differently as a notification and as a request."""
    verp = bounce_address(SUPPORT, SECRET, outbound=12).split(".")[2]
    agents = agent_token_address(SUPPORT, SECRET, request=12).split(".")[2]
    assert verp != agents
