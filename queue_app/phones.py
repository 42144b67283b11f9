"""Phone numbers: read what a patient typed, in the clinic's country unless they say otherwise."""

from __future__ import annotations

import phonenumbers

#: The number types a text message reaches (in some countries, as in the US, libphonenumber
#: cannot tell a mobile from a landline and says "either").
MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
#: Mobile prefixes a country has retired: still valid numbers to libphonenumber, but no text
#: reaches them any more (Korea's 011 and 016-019 went with the 2G networks, the last in 2021).
RETIRED_MOBILE_PREFIXES = {"KR": ("11", "16", "17", "18", "19")}
#: How nearly every mobile number in the country starts: the kiosk's keypad has it typed already.
MOBILE_PREFIX = {"KR": "010"}


class InvalidPhone(ValueError):
    """What the patient typed is not a phone number that can receive messages.

    ``reason`` says why, for a message the patient can act on: ``invalid`` (not a number),
    ``not_mobile`` (a landline or a service number) or ``retired`` (a prefix no longer in use).
    """

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


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
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise InvalidPhone(f"{text!r} is not a mobile number: texts cannot reach it", "not_mobile")
    retired = RETIRED_MOBILE_PREFIXES.get(phonenumbers.region_code_for_number(number), ())
    if phonenumbers.national_significant_number(number).startswith(retired):
        raise InvalidPhone(f"{text!r} starts with a retired mobile prefix", "retired")
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
