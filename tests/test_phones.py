"""Phone numbers as patients type them, as they are stored, and as reception dials them."""

from __future__ import annotations

import pytest

from queue_app.phones import InvalidPhone, display_phone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("010-1234-5678", "+821012345678"),
        ("010 1234 5678", "+821012345678"),
        ("+82 10 1234 5678", "+821012345678"),
        ("+7 912 345-67-89", "+79123456789"),  # a Russian visitor's own number
    ],
)
def test_typed_numbers_are_stored_in_one_form(typed, stored):
    assert normalize_phone(typed, "KR") == stored


@pytest.mark.parametrize("typed", ["", "   ", "hello", "010-1234", "1" * 40])
def test_what_is_not_a_number_is_refused_with_a_reason(typed):
    with pytest.raises(InvalidPhone):
        normalize_phone(typed, "KR")


def test_reception_reads_home_numbers_nationally_and_foreign_ones_with_their_code():
    assert display_phone("+821012345678", "KR") == "010-1234-5678"
    assert display_phone("+79123456789", "KR") == "+7 912 345-67-89"
    assert display_phone("+821012345678", "RU") == "+82 10-1234-5678"


def test_masked_numbers_show_only_the_last_four_digits():
    assert mask_phone("+821012345678") == "•••• 5678"
    assert mask_phone(None) is None


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("02-123-4567", "not_mobile"),  # a Seoul landline
        ("031-123-4567", "not_mobile"),
        ("070-1234-5678", "not_mobile"),  # internet telephony
        ("1588-1234", "not_mobile"),  # a company's service number
        ("+7 495 123-45-67", "not_mobile"),  # a Moscow landline
        ("011-123-4567", "retired"),  # 2G prefixes, switched off
        ("016-234-5678", "retired"),
        ("019-234-5678", "retired"),
        ("010-1234", "invalid"),
    ],
)
def test_only_mobile_numbers_in_use_are_taken_for_texts(typed, reason):
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(typed, "KR")
    assert refused.value.reason == reason


def test_mobile_numbers_abroad_are_taken_where_a_mobile_cannot_be_told_from_a_landline():
    assert normalize_phone("+1 650 253 0000", "KR") == "+16502530000"  # the US: "fixed line or mobile"
    assert normalize_phone("+44 7911 123456", "KR") == "+447911123456"
