"""How a patient's short reply is compared with the words it may be ("네.", " YES! ", "Отмена").

One rule for the conversation keywords (late, here, cancel) and the answers to an
appointment reminder (confirm, cancel): patients type these on a phone, often in a hurry.
No Flask here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

#: Longer than any of the words with room to spare: a real message is never taken for one.
LONGEST_REPLY = 60


def squeezed(text: str) -> str:
    """Text as reply words are compared: no case, no spaces, no punctuation, ё as е."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е").replace("’", "'")
    return "".join(ch for ch in text if ch.isalnum())


def as_reply(text: str) -> str | None:
    """The reply as its words are looked up (``squeezed``); None when it cannot be one of
    them (not text, or a whole message)."""
    return squeezed(text) if isinstance(text, str) and len(text) <= LONGEST_REPLY else None


def reply_words(words: Iterable[str]) -> frozenset[str]:
    """``words`` as ``is_reply_word`` looks them up."""
    return frozenset(squeezed(word) for word in words)


def is_reply_word(text: str, words: frozenset[str]) -> bool:
    """Is the whole reply one of ``words`` (made by ``reply_words``)?"""
    return as_reply(text) in words
