"""What the messages say, in the patient's language, with the minimum in them.

A message carries the clinic's name, the ticket number, the room and the link to the phone
page: never a name, a reason for visit or a diagnosis.  The clinic may rewrite any text in
``[notify.templates.<language>]``.  SMS texts try to fit one segment (160 GSM-7 characters,
70 for any other script such as Korean or Russian); the link is left out of SMS unless the
clinic asks for it, as carriers flag texts with links.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..particles import particle

DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    "ko": {
        "checked_in": "[{clinic}] 접수되었습니다. 번호 {number}. 순서 보기: {link}",
        "turn_near": "[{clinic}] {number}번 곧 차례입니다. 대기실로 와 주세요. {link}",
        "called": "[{clinic}] {number}번 {room|로} 들어오세요.",
        "recalled": "[{clinic}] {number}번 다시 호출합니다. {room|로} 들어오세요.",
        "subject": "[{clinic}] 번호 {number}",
        "appointment_reminder": "[{clinic}] {time} {service} 예약 안내입니다. {instructions} 확인·취소: {link}",
        "appointment_preparation": "[{clinic}] {time} {service} 예약 준비 안내: {instructions} {link}",
        "appointment_subject": "[{clinic}] {time} 예약",
    },
    "en": {
        "checked_in": "{clinic}: you are number {number}. Follow your turn: {link}",
        "turn_near": "{clinic}: number {number}, your turn is near. Please come back to the waiting room. {link}",
        "called": "{clinic}: number {number}, please go to {room}.",
        "recalled": "{clinic}: number {number}, we are calling you again. Please go to {room}.",
        "subject": "{clinic}: number {number}",
        "appointment_reminder": (
            "{clinic}: your {service} appointment is at {time}. {instructions} Confirm or cancel: {link}"
        ),
        "appointment_preparation": "{clinic}: before your {service} appointment at {time}: {instructions} {link}",
        "appointment_subject": "{clinic}: appointment at {time}",
        # Events for the clinic's webhook only (its body is the event, not a text): every
        # message still has a text, and these are never sent to a patient.
        "appointment_confirmed": "{clinic}: the appointment at {time} is confirmed.",
        "appointment_cancelled": "{clinic}: the appointment at {time} is cancelled.",
        "appointment_arrived": "{clinic}: the patient of the appointment at {time} has arrived.",
        "appointment_no_show": "{clinic}: the patient of the appointment at {time} did not come.",
    },
    "ru": {
        "checked_in": "{clinic}: ваш номер {number}. Следите за очередью: {link}",
        "turn_near": "{clinic}: номер {number}, скоро ваша очередь. Вернитесь, пожалуйста, в зал ожидания. {link}",
        "called": "{clinic}: номер {number}, пройдите в {room}.",
        "recalled": "{clinic}: номер {number}, повторный вызов. Пройдите в {room}.",
        "subject": "{clinic}: номер {number}",
        "appointment_reminder": (
            "{clinic}: вы записаны на {time}, услуга: {service}. {instructions} Подтвердить или отменить: {link}"
        ),
        "appointment_preparation": "{clinic}: подготовка к приёму {time} ({service}): {instructions} {link}",
        "appointment_subject": "{clinic}: запись на {time}",
    },
}

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def one_segment_limit(text: str) -> int:
    """How many characters fit one SMS segment for this text's alphabet."""
    return 160 if set(text) <= GSM7 else 70


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        # "{room|로}": the room's name with the Korean particle that fits it.
        name, _, written = key.partition("|")
        if written and name in self:
            return str(self[name]) + particle(str(self[name]), written)
        return ""


def template(kind: str, language: str, custom: Mapping[str, Mapping[str, str]]) -> str:
    """The clinic's text for ``kind`` in ``language``, else ours, else English."""
    for lang in (language, "en"):
        if kind in custom.get(lang, {}):
            return custom[lang][kind]
        if kind in DEFAULT_TEXTS.get(lang, {}):
            return DEFAULT_TEXTS[lang][kind]
    raise KeyError(kind)


def render(kind: str, language: str, variables: Mapping[str, str], custom=None, *, link: bool = True) -> str:
    """The message text; without the link when ``link`` is False."""
    values = _Blank(variables)
    if not link:
        values["link"] = ""
    text = template(kind, language, custom or {}).format_map(values)
    return " ".join(text.split())


#: Messages whose SMS always carries the link: the check-in text is the patient's way back
#: to their page (a ticket in the pocket, the page closed), whatever it costs.
ALWAYS_LINKED = ("checked_in", "appointment_reminder", "appointment_preparation")
#: Appointment messages whose SMS carries the link to the instructions instead of them: a
#: fasting instruction in Korean would cost several texts.
INSTRUCTIONS_BY_LINK = ("appointment_reminder", "appointment_preparation")


def render_sms(kind: str, language: str, variables: Mapping[str, str], custom=None, *, include_link: bool) -> str:
    """The SMS text: with the link only if asked and it still fits one segment.

    The check-in text always has its link (a long text is priced as one, see ``costs``);
    "turn near" and "called" stay short and go without it unless the clinic asks.
    """
    if kind in INSTRUCTIONS_BY_LINK:
        variables = {**variables, "instructions": ""}
    if kind in ALWAYS_LINKED:
        return render(kind, language, variables, custom, link=True)
    if include_link:
        with_link = render(kind, language, variables, custom, link=True)
        if len(with_link) <= one_segment_limit(with_link):
            return with_link
    return render(kind, language, variables, custom, link=False)


def subject(language: str, variables: Mapping[str, str], custom=None, kind: str = "") -> str:
    """The email subject and push title."""
    return render("appointment_subject" if kind.startswith("appointment_") else "subject", language, variables, custom)


def message_text(
    kind: str, language: str, variables: Mapping[str, str], custom=None, *, sms: bool, sms_link: bool
) -> str:
    """The text a channel is given: short for SMS (``render_sms``), whole for the rest.

    The dispatcher sends this and the demo phones page shows it, so both read one rule.
    """
    if sms:
        return render_sms(kind, language, variables, custom, include_link=sms_link)
    return render(kind, language, variables, custom)


#: Automatic answers to a patient's keyword (conversations), per language.  ``{hold}``: the
#: minutes a passed-over late patient keeps the front of the line.
KEYWORD_REPLIES: dict[str, dict[str, str]] = {
    "ko": {
        "late": "[{clinic}] {number}번, 늦으신다는 말씀 잘 받았습니다. 차례가 되면 다음 분을 먼저 모시고, "
        "{hold}분 동안 맨 앞 순서를 지켜 드립니다. 도착하시면 '도착'이라고 답장해 주세요.",
        "here": "[{clinic}] {number}번, 도착 확인했습니다. 차례가 되면 호출해 드리겠습니다.",
        "cancel": "[{clinic}] {number}번 대기가 취소되었습니다. 다시 접수하시려면 키오스크나 접수처를 이용해 주세요.",
    },
    "en": {
        "late": "{clinic}: number {number}, thank you for telling us you are running late. When your turn comes "
        "we will call the next patient and keep the front of the line for you for {hold} minutes. "
        "Reply HERE when you arrive.",
        "here": "{clinic}: number {number}, we have noted that you are here. We will call you when it is your turn.",
        "cancel": "{clinic}: number {number} has left the queue. To check in again, use the kiosk or ask at reception.",
    },
    "ru": {
        "late": "{clinic}: номер {number}, спасибо, что предупредили об опоздании. Когда подойдёт ваша очередь, "
        "мы пригласим следующего пациента и сохраним за вами место в начале очереди на {hold} мин. "
        "Когда придёте, ответьте «пришёл» или «пришла».",
        "here": "{clinic}: номер {number}, отметили, что вы на месте. Мы пригласим вас, когда подойдёт очередь.",
        "cancel": "{clinic}: номер {number} удалён из очереди. Чтобы встать в очередь снова, "
        "воспользуйтесь киоском или обратитесь в регистратуру.",
    },
}
#: Automatic answers to "yes" or "cancel" sent in reply to an appointment reminder.
#: ``{when}``: the appointment's local date and time as the patient's language says it.
APPOINTMENT_REPLIES: dict[str, dict[str, str]] = {
    "ko": {
        "confirmed": "[{clinic}] {when} 예약이 확인되었습니다. 감사합니다.",
        "cancelled": "[{clinic}] {when} 예약이 취소되었습니다. 다시 예약하시려면 병원으로 연락해 주세요.",
    },
    "en": {
        "confirmed": "{clinic}: thank you, your appointment at {when} is confirmed.",
        "cancelled": "{clinic}: your appointment at {when} is cancelled. To book again, please contact the clinic.",
    },
    "ru": {
        "confirmed": "{clinic}: спасибо, ваша запись на {when} подтверждена.",
        "cancelled": "{clinic}: ваша запись на {when} отменена. Чтобы записаться снова, свяжитесь с клиникой.",
    },
}
#: The line added to the after-hours answer when ``[inbox] booking_url`` is set.
BOOKING_LINE = {
    "ko": " 온라인 예약: {url}",
    "en": " Book online: {url}",
    "ru": " Записаться онлайн: {url}",
}


def appointment_reply(status: str, language: str, variables: Mapping[str, str]) -> str:
    """The automatic answer to a confirm or cancel reply (``status``: confirmed, cancelled)."""
    texts = APPOINTMENT_REPLIES.get(language, APPOINTMENT_REPLIES["en"])
    return texts[status].format_map(_Blank(variables))


def keyword_reply(keyword: str, language: str, variables: Mapping[str, str]) -> str:
    """The automatic answer to ``keyword`` (late, here, cancel) in the patient's language."""
    texts = KEYWORD_REPLIES.get(language, KEYWORD_REPLIES["en"])
    return texts[keyword].format_map(_Blank(variables))
