"""Sign-offs typed in capitals, Turkish ones included (dotted and dotless i)."""

from __future__ import annotations

import pytest

from mailgate.parse.newtext import split_reply

TEXT = "Test araması yine başarısız oldu, lütfen ayarları kontrol edin."


@pytest.mark.parametrize(
    "sign_off", ["SAYGILARIMLA", "Saygılarımla,", "İYİ ÇALIŞMALAR", "BEST REGARDS,", "С УВАЖЕНИЕМ,"]
)
def test_a_sign_off_in_capitals_starts_the_signature(sign_off: str) -> None:
    text = f"Merhaba,\n\n{TEXT}\n\n{sign_off}\nAhmet Yılmaz\nAcme A.Ş.\n"
    assert split_reply(text, None).new_text == f"Merhaba,\n\n{TEXT}"
