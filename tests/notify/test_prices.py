"""Prices as carriers bill them, and what the check-in text says."""

from __future__ import annotations

import pytest

from queue_app.notify.costs import is_korean_lms, sms_parts, sms_price
from queue_app.notify.texts import render_sms

FACTS = {"clinic": "한빛가정의원", "number": "A-012", "room": "2번 진료실", "link": "https://q.hanbit.kr/t/" + "x" * 22}


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),  # concatenated GSM-7 parts hold 153 each
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("가" * 70, 1),
        ("가" * 71, 2),  # any other script: 70 alone, 67 a part
        ("я" * 134, 2),
        ("я" * 135, 3),
    ],
)
def test_sms_parts_follow_the_alphabet(text, parts):
    assert sms_parts(text) == parts


def test_a_korean_text_over_90_bytes_is_one_lms():
    short = "[한빛] A-012번 곧 차례입니다."  # well under 90 bytes in EUC-KR
    long = render_sms("checked_in", "ko", FACTS, include_link=False)
    assert not is_korean_lms(short) and is_korean_lms(long)
    assert sms_price(short, "+821012345678", 20, 50) == 20
    # An LMS is one message at its own price, however many 70-character parts it would be.
    assert sms_parts(long) >= 2 and sms_price(long, "+821012345678", 20, 50) == 50


def test_elsewhere_a_long_text_costs_one_price_per_part():
    text = "я" * 100
    assert sms_price(text, "+79161234567", 7, 50) == 14
    assert sms_price(text, "+821012345678", 7, None) == 14  # no LMS price set: per part


@pytest.mark.parametrize("language", ["ko", "en", "ru"])
def test_the_check_in_text_always_carries_its_link_and_never_a_bare_label(language):
    text = render_sms("checked_in", language, FACTS, include_link=False)
    assert text.endswith(FACTS["link"])
    for kind in ("turn_near", "called"):
        short = render_sms(kind, language, FACTS, include_link=False)
        assert FACTS["link"] not in short and not short.rstrip().endswith(":")
