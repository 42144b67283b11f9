"""Korean particles chosen by the noun before them: 진료실로 but 검사방으로, 주사실이 but 1번 창구가.

A Korean text cannot write "{room}(으)로": the particle depends on the room's name, which
the translator does not know.  Texts write ``{room|로}`` (or ``{room|이}``, ``{room|를}``, ...)
and the filler picks the form by the last syllable of the value: a final consonant takes
으로, 이, 을, 은, 과; a vowel (and ㄹ, for 로) takes 로, 가, 를, 는, 와.  Digits and Latin
letters are read as a Korean reader says them ("3" 삼, "L" 엘).  The same rule lives in
``pages/static/dom.js`` for the pages' scripts.
"""

from __future__ import annotations

import re

#: Each particle, whichever form a text writes: (after a vowel, after a final consonant).
PAIRS = {
    **dict.fromkeys(("로", "으로"), ("로", "으로")),
    **dict.fromkeys(("가", "이"), ("가", "이")),
    **dict.fromkeys(("를", "을"), ("를", "을")),
    **dict.fromkeys(("는", "은"), ("는", "은")),
    **dict.fromkeys(("와", "과"), ("와", "과")),
}
#: How digits end when read aloud: 영 일 이 삼 사 오 육 칠 팔 구 ("" = a vowel).
DIGIT_FINALS = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
#: Latin letters whose Korean names end in a consonant: 엘 엠 엔 알.
LETTER_FINALS = {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ"}
FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
PLACEHOLDER = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


def final_consonant(word: str) -> str:
    """The final consonant of the word's last sound ("" after a vowel or when unknown)."""
    for char in reversed(word):
        if "가" <= char <= "힣":
            return FINALS[(ord(char) - 0xAC00) % 28].strip()
        if char in DIGIT_FINALS:
            return DIGIT_FINALS[char]
        if char.isalpha():
            return LETTER_FINALS.get(char.lower(), "")
    return ""


def particle(word: str, written: str) -> str:
    """The form of the particle ``written`` (로, 이, ...) that follows ``word``."""
    pair = PAIRS.get(written)
    if pair is None:
        return written
    final = final_consonant(word)
    if not final or (pair[0] == "로" and final == "ㄹ"):
        return pair[0]
    return pair[1]


def fill(text: str, values) -> str:
    """``text`` with ``{name}`` and ``{name|로}`` filled from ``values``; unknown names stay."""

    def one(match: re.Match) -> str:
        name, written = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        value = str(values[name])
        return value + particle(value, written) if written else value

    return PLACEHOLDER.sub(one, text)
