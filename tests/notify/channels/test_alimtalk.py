"""Kakao AlimTalk via Solapi: a local server that authenticates like Solapi (recomputes the
HMAC-SHA256 signature) and answers with Solapi's send-many/detail response shapes."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from queue_app.notify.channels.alimtalk import AlimTalkChannel, authorization_header, parse_report
from queue_app.notify.channels.base import (
    CannotReach,
    ChannelConfigError,
    ChannelMisconfigured,
    Recipient,
    TemporaryFailure,
)

API_KEY = "NCSTESTAPIKEY0001"
API_SECRET = "TESTSECRET0123456789ABCDEFGHIJKL"
PF_ID = "KA01PF2403110000000000000000TEST"
TEMPLATES = {
    "checked_in": "KA01TP-CHECKIN",
    "turn_near": "KA01TP-NEAR",
    "called": "KA01TP-CALLED",
    "recalled": "KA01TP-RECALL",
}
PHONE = "+821012345678"
AUTH_RE = re.compile(
    r"^HMAC-SHA256 apiKey=(?P<apiKey>[^,]+), date=(?P<date>[^,]+), "
    r"salt=(?P<salt>[^,]+), signature=(?P<signature>[0-9a-f]{64})$"
)


def channel(base_url, **extra):
    settings = {
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "pf_id": PF_ID,
        "sender": "0212345678",
        "templates": TEMPLATES,
        "base_url": base_url,
        "disable_sms_fallback": True,
        **extra,
    }
    return AlimTalkChannel(settings)


def authenticate(request):
    """Solapi's check: known key, fresh ISO 8601 date, HMAC-SHA256(secret, date+salt)."""
    match = AUTH_RE.match(request.headers.get("Authorization", ""))
    if not match or match["apiKey"] != API_KEY:
        return "InvalidApiKey"
    date = datetime.fromisoformat(match["date"].replace("Z", "+00:00"))
    if abs(datetime.now(UTC) - date) > timedelta(minutes=15):
        return "RequestTimeTooSkewed"
    expected = hmac.new(API_SECRET.encode(), (match["date"] + match["salt"]).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        return "SignatureDoesNotMatch"
    return None


def group_info(total=1, failed=0):
    return {
        "groupId": "G4V20240311090000ABCDEFGHIJKLMN",
        "status": "SENDING",
        "count": {"total": total, "registeredFailed": failed, "registeredSuccess": total - failed},
    }


def solapi(failed_status=None, status=200):
    def handle(request):
        if request.path != "/messages/v4/send-many/detail" or request.method != "POST":
            return 404, {}, {"errorCode": "NotFound", "errorMessage": "no such path"}
        error = authenticate(request)
        if error:
            return 401, {}, {"errorCode": error, "errorMessage": "authentication failed"}
        if status != 200:
            return status, {}, {"errorCode": "InternalError", "errorMessage": "try later"}
        message = request.json()["messages"][0]
        if failed_status:
            return (
                200,
                {},
                {
                    "groupInfo": group_info(failed=1),
                    "messageList": [],
                    "failedMessageList": [
                        {
                            "to": message["to"],
                            "from": message.get("from"),
                            "type": "ATA",
                            "country": "82",
                            "messageId": "",
                            "statusCode": failed_status[0],
                            "statusMessage": failed_status[1],
                            "accountId": "1",
                            "customFields": message.get("customFields"),
                        }
                    ],
                },
            )
        return (
            200,
            {},
            {
                "groupInfo": group_info(),
                "failedMessageList": [],
                "messageList": [
                    {
                        "messageId": "M4V20240311090000ABCDEFGHIJKLMN",
                        "to": message["to"],
                        "statusCode": "2000",
                        "statusMessage": "정상 접수(이통사로 접수 예정)",
                    }
                ],
            },
        )

    return handle


def test_sends_alimtalk_signed_like_solapi(http_server, make_message):
    http_server.handler = solapi()
    message = make_message(Recipient(phone=PHONE))
    result = channel(http_server.url).send(message)

    assert result.provider_id == "M4V20240311090000ABCDEFGHIJKLMN"
    assert result.delivered is False
    request = http_server.last
    assert request.path == "/messages/v4/send-many/detail"
    assert authenticate(request) is None
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["showMessageList"] is True
    assert body["messages"] == [
        {
            "to": "01012345678",
            "from": "0212345678",
            "type": "ATA",
            "kakaoOptions": {
                "pfId": PF_ID,
                "templateId": "KA01TP-CALLED",
                "variables": {
                    "#{clinic}": "한빛가정의원",
                    "#{number}": "A-007",
                    "#{room}": "2번 진료실",
                    "#{link}": "https://queue.example-clinic.kr/t/abc123",
                },
                "disableSms": True,
            },
            "customFields": {"queueMessageId": message.id},
        }
    ]


def test_template_per_kind_and_provider_fallback_setting(http_server, make_message):
    http_server.handler = solapi()
    kakao = channel(http_server.url, disable_sms_fallback=False, variable_names={"clinic": "병원명", "number": "번호"})
    kakao.send(make_message(Recipient(phone=PHONE), kind="turn_near"))
    options = http_server.last.json()["messages"][0]["kakaoOptions"]
    assert options["templateId"] == "KA01TP-NEAR"
    assert options["disableSms"] is False
    assert options["variables"]["#{병원명}"] == "한빛가정의원"
    assert options["variables"]["#{번호}"] == "A-007"
    assert options["variables"]["#{room}"] == "2번 진료실"


def test_templates_per_language(http_server, make_message):
    http_server.handler = solapi()
    kakao = channel(http_server.url, templates={"called": {"ko": "KA01TP-KO", "en": "KA01TP-EN"}})
    kakao.send(make_message(Recipient(phone=PHONE), language="en"))
    assert http_server.last.json()["messages"][0]["kakaoOptions"]["templateId"] == "KA01TP-EN"
    with pytest.raises(ChannelMisconfigured, match="no template"):
        kakao.send(make_message(Recipient(phone=PHONE), language="ru"))
    with pytest.raises(ChannelMisconfigured, match="no template"):
        kakao.send(make_message(Recipient(phone=PHONE), kind="recalled"))


def test_the_header_follows_the_documented_formula():
    header = authorization_header(API_KEY, API_SECRET, date="2019-07-01T00:41:48Z", salt="jqsba2jxjnrjor")
    expected = hmac.new(API_SECRET.encode(), b"2019-07-01T00:41:48Zjqsba2jxjnrjor", hashlib.sha256).hexdigest()
    assert header == (
        f"HMAC-SHA256 apiKey={API_KEY}, date=2019-07-01T00:41:48Z, salt=jqsba2jxjnrjor, signature={expected}"
    )


def test_each_request_has_a_fresh_salt(http_server, make_message):
    http_server.handler = solapi()
    kakao = channel(http_server.url)
    kakao.send(make_message(Recipient(phone=PHONE)))
    kakao.send(make_message(Recipient(phone=PHONE)))
    salts = {AUTH_RE.match(r.headers["Authorization"])["salt"] for r in http_server.requests}
    assert len(salts) == 2


def test_refused_number_cannot_be_reached(http_server, make_message):
    http_server.handler = solapi(failed_status=("1062", "수신번호 형식 오류"))
    with pytest.raises(CannotReach, match="1062") as info:
        channel(http_server.url).send(make_message(Recipient(phone=PHONE)))
    assert not isinstance(info.value, ChannelMisconfigured)


def test_wrong_secret_is_misconfiguration(http_server, make_message):
    http_server.handler = solapi()
    with pytest.raises(ChannelMisconfigured, match="SignatureDoesNotMatch") as info:
        kakao = channel(http_server.url, api_secret="WRONG-SECRET")
        kakao.send(make_message(Recipient(phone=PHONE)))
    assert "WRONG-SECRET" not in str(info.value)


def test_server_error_is_temporary(http_server, make_message):
    http_server.handler = solapi(status=500)
    with pytest.raises(TemporaryFailure, match="500"):
        channel(http_server.url).send(make_message(Recipient(phone=PHONE)))


def test_timeout_is_temporary(http_server, make_message):
    def slow(request):
        http_server.stall()
        return 200, {}, {}

    http_server.handler = slow
    started = time.monotonic()
    with pytest.raises(TemporaryFailure, match="timed out"):
        channel(http_server.url, timeout=0.2).send(make_message(Recipient(phone=PHONE)))
    assert time.monotonic() - started < 2


def test_can_reach_korean_numbers_by_default():
    kakao = channel("http://127.0.0.1:9")
    assert kakao.can_reach(Recipient(phone=PHONE))
    assert not kakao.can_reach(Recipient(phone="+79161234567"))
    assert not kakao.can_reach(Recipient(phone="not a number"))
    assert not kakao.can_reach(Recipient(email="a@b.c"))
    assert channel("http://127.0.0.1:9", country_codes=[82, 7]).can_reach(Recipient(phone="+79161234567"))


def test_foreign_numbers_carry_the_country(http_server, make_message):
    http_server.handler = solapi()
    channel(http_server.url, country_codes=[82, 7]).send(make_message(Recipient(phone="+79161234567")))
    entry = http_server.last.json()["messages"][0]
    assert entry["to"] == "9161234567" and entry["country"] == "7"


def test_settings_are_checked():
    with pytest.raises(ChannelConfigError):
        AlimTalkChannel({"api_key": API_KEY, "api_secret": API_SECRET, "pf_id": PF_ID})  # sender
    with pytest.raises(ChannelConfigError):
        channel("http://127.0.0.1:9", templates={"lunch": "KA01TP"})
    assert channel("http://127.0.0.1:9", sender="").sender == ""  # ok without SMS fallback


def test_results_are_read_from_solapis_message_list(http_server):
    listed = {
        "M4V1": {"messageId": "M4V1", "statusCode": "4000", "reason": "수신 완료"},
        "M4V2": {"messageId": "M4V2", "statusCode": "3104", "reason": "카카오톡 미사용자"},
        "M4V3": {"messageId": "M4V3", "statusCode": "3000"},
        "M4V4": {"messageId": "M4V4", "statusCode": "3059"},
        "M4V9": {"messageId": "M4V9", "statusCode": "3104"},  # not asked about: left out
    }

    def handle(request):
        if request.path != "/messages/v4/list" or request.method != "GET":
            return 404, {}, {"errorCode": "NotFound", "errorMessage": "no such path"}
        error = authenticate(request)
        if error:
            return 401, {}, {"errorCode": error, "errorMessage": "authentication failed"}
        return 200, {}, {"startKey": None, "limit": 20, "messageList": listed}

    http_server.handler = handle
    results = channel(http_server.url).results(["M4V1", "M4V2", "M4V3", "M4V4", "M4V5"])
    assert {pid: (r.outcome, r.code, r.unreachable) for pid, r in results.items()} == {
        "M4V1": ("delivered", "4000", False),
        "M4V2": ("failed", "3104", True),  # no KakaoTalk: skip the number for a while
        "M4V3": ("pending", "3000", False),
        "M4V4": ("failed", "3059", False),  # failed, but the number may have KakaoTalk
    }
    assert http_server.last.query["messageIds"] == ['["M4V1", "M4V2", "M4V3", "M4V4", "M4V5"]']
    channel(http_server.url).results(["M4V2"])
    assert http_server.last.query == {"criteria": ["messageId"], "cond": ["eq"], "value": ["M4V2"]}
    with pytest.raises(ChannelMisconfigured):
        channel(http_server.url, api_secret="WRONG-SECRET").results(["M4V1"])


@pytest.mark.parametrize(
    "answer",
    [(200, {}, b"<html>maintenance</html>"), (200, {}, {"limit": 20}), (200, {}, ["M4V1"]), (502, {}, b"")],
)
def test_a_list_answer_not_in_solapis_shape_teaches_nothing(http_server, answer):
    http_server.handler = lambda request: answer
    with pytest.raises(TemporaryFailure):
        channel(http_server.url).results(["M4V1"])


def test_a_late_list_answer_is_temporary(http_server):
    def slow(request):
        http_server.stall()
        return 200, {}, {}

    http_server.handler = slow
    with pytest.raises(TemporaryFailure, match="timed out"):
        channel(http_server.url, timeout=0.2).results(["M4V1"])


def test_report_webhook_bodies_are_read_or_refused_naming_the_field():
    body = [
        {"eventDataId": "E1", "data": {"messageId": "M4V1", "statusCode": "3107"}, "retryCount": 1},
        {"messageId": "M4V2", "statusCode": "4000"},
    ]
    assert [(r.provider_id, r.outcome, r.unreachable) for r in parse_report(body)] == [
        ("M4V1", "failed", True),
        ("M4V2", "delivered", False),
    ]
    for bad, field in [
        ({"data": {}}, "body"),
        ([1], "[0]"),
        ([{"data": "x"}], "[0].data"),
        ([{"data": {"statusCode": "4000"}}], "[0].data.messageId"),
        ([{"messageId": "M4V1", "statusCode": 3104}], "[0].statusCode"),
    ]:
        with pytest.raises(ValueError) as info:
            parse_report(bad)
        assert str(info.value).startswith(field + ":")


@pytest.mark.parametrize(
    "key, value",
    [("result_poll_seconds", 0), ("result_wait_minutes", "soon"), ("skip_days", -1), ("webhook_secret", "short")],
)
def test_result_settings_are_checked_naming_the_key(key, value):
    with pytest.raises(ChannelConfigError, match=key):
        channel("http://127.0.0.1:9", **{key: value})
