"""Korean particles follow the noun: the rule, table-tested on the names clinics use."""

from __future__ import annotations

import pytest

from queue_app.particles import fill, particle


@pytest.mark.parametrize(
    ("word", "written", "chosen"),
    [
        ("1번 진료실", "로", "로"),  # ㄹ takes 로
        ("검사방", "로", "으로"),
        ("주사실", "으로", "로"),
        ("접수처", "으로", "로"),
        ("주사실", "이", "이"),
        ("접수처", "이", "가"),
        ("진료실 3", "이", "이"),  # 삼
        ("Room 2", "로", "로"),  # 이
        ("창구 6", "로", "으로"),  # 육
        ("Room 1", "로", "로"),  # 일: ㄹ
        ("B", "를", "를"),
        ("L", "은", "은"),  # 엘
        ("2층 진료실 (내과)", "로", "로"),  # the last syllable read, not the bracket
        ("소아과", "와", "와"),
        ("내과실", "와", "과"),
    ],
)
def test_the_particle_follows_the_last_syllable(word, written, chosen):
    assert particle(word, written) == chosen


def test_texts_write_the_particle_once_and_never_as_both_forms():
    assert fill("{number}번 {room|로} 오세요", {"number": "A-011", "room": "검사방"}) == "A-011번 검사방으로 오세요"
    assert fill("{room|이} 일시 중지됨", {"room": "1번 진료실"}) == "1번 진료실이 일시 중지됨"
    assert fill("{room} 그대로, {missing|로} 그대로", {"room": "주사실"}) == "주사실 그대로, {missing|로} 그대로"


def test_the_called_text_message_takes_the_rooms_particle():
    from queue_app.notify.texts import render

    variables = {"clinic": "한빛", "number": "A-011", "room": "검사방"}
    assert render("called", "ko", variables) == "[한빛] A-011번 검사방으로 들어오세요."
    assert render("called", "ko", {**variables, "room": "1번 진료실"}) == "[한빛] A-011번 1번 진료실로 들어오세요."
