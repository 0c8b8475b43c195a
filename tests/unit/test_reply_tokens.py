"""Reply tokens: made and recognised; forged or altered ones are not."""

from mailgate.reply_tokens import ReplyToken, find_token, token_address

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
