"""Phone numbers: read what a patient typed, in the clinic's country unless they say otherwise."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    """What the patient typed is not a phone number that can receive messages."""


def normalize_phone(text: str, region: str) -> str:
    """Return ``text`` as an E.164 number (``+821012345678``) or raise ``InvalidPhone``.

    ``region`` (``KR``) is used for numbers written without a country code, as patients
    write them.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > 32:
        raise InvalidPhone("enter a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str | None) -> str | None:
    """The last four digits only (``•••• 5678``), for screens where a full number is not needed."""
    if not e164:
        return None
    return "•••• " + e164[-4:]


def display_phone(e164: str, region: str) -> str:
    """How reception reads a number to dial it: national (``010-1234-5678``) when it is in
    the clinic's country, international (``+7 912 345-67-89``) otherwise."""
    number = phonenumbers.parse(e164, None)
    if phonenumbers.region_code_for_number(number) == region:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
