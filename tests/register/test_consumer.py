"""The consumer pages (SPEC §5, §17): block, confirm, check, change or unblock, in nl and en."""

import re
import threading
from datetime import date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.utils import timezone
from django_scopes import scopes_disabled

from register.models import (
    ALL_CATEGORIES,
    BlockedNumber,
    BlockRequest,
    Channel,
    EventAction,
    ManageLink,
    RegisterEvent,
)
from register.services import (
    LinkUsed,
    block_request_confirm,
    block_request_create,
    token_hash,
)
from register.tasks import purge_unconfirmed_blocks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

NL_HOST = "nl.localhost"
BE_HOST = "be.localhost"
NL_ANSWERS = {"category_commercial": "yes", "category_ideal": "no", "category_charity": "yes"}


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Runs the services' on-commit mail inside the test's transaction."""

    def capture():
        return django_capture_on_commit_callbacks(execute=True)

    return capture


def freeze_time(moment):
    """The clock of the code under test stopped at `moment` (a datetime or ISO text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return mock.patch("django.utils.timezone.now", return_value=moment)


def get(client, url, *, host=NL_HOST, lang="en"):
    return client.get(url, HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=lang)


def post(client, url, data, *, host=NL_HOST, lang="en"):
    return client.post(url, data, HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=lang)


def text(response) -> str:
    """The page as a person reads it: tags gone, entities and whitespace folded."""
    html = response.content.decode()
    plain = re.sub(r"<[^>]+>", " ", html)
    for entity, char in (("&ldquo;", "“"), ("&rdquo;", "”"), ("&#x27;", "'"), ("&amp;", "&")):
        plain = plain.replace(entity, char)
    return " ".join(plain.split())


def stored_nothing() -> bool:
    with scopes_disabled():
        return not (
            BlockRequest.objects.exists()
            or BlockedNumber.objects.exists()
            or RegisterEvent.objects.exists()
        )


def is_blocked(register) -> bool:
    with scopes_disabled():
        return BlockedNumber.objects.filter(register=register).exists()


def confirm_link(message) -> str:
    return re.search(r"http://\S+/confirm/\S+/", message.body).group(0)


def path_of(url: str) -> str:
    return re.sub(r"^http://[^/]+", "", url)


def block_via_form(client, on_commit, *, numbers, host=NL_HOST, answers=None, lang="en"):
    data = {"numbers": numbers, "email": "piet@example.nl"}
    data.update(NL_ANSWERS if answers is None and host == NL_HOST else answers or {})
    with on_commit():
        response = post(client, "/block/", data, host=host, lang=lang)
    assert response.status_code == 200, text(response)
    return response


def confirm_via_link(client, *, host=NL_HOST):
    link = path_of(confirm_link(mail.outbox[-1]))
    return post(client, link, {}, host=host)


def make_request(register, *, numbers, categories=None, expires_in=timedelta(hours=72)):
    """A pending block request and its token, without going through the form."""
    with scopes_disabled(), TestCase.captureOnCommitCallbacks(execute=True):
        block_request = block_request_create(
            register=register,
            numbers=numbers,
            categories=categories if categories is not None else register.categories,
            email="piet@example.nl",
            language="en",
            base_url=f"http://{register.hostnames[0]}/",
        )
    token = re.search(r"/confirm/(\S+)/", mail.outbox[-1].body).group(1)
    with scopes_disabled():
        BlockRequest.objects.filter(pk=block_request.pk).update(
            expires_at=timezone.now() + expires_in
        )
    return token


# --- Block ------------------------------------------------------------------------------------


def test_home_page_asks_each_category_explicitly_without_preselection(client, nl):
    response = get(client, "/", lang="nl")
    page = response.content.decode()
    assert response.status_code == 200
    for code in nl.categories:
        assert page.count(f'name="category_{code}"') == 2
    assert "checked" not in page
    # Seed 002: the consumer is asked explicitly whether charities are included.
    assert "Goede doelen" in text(response)
    assert "Ja, blokkeer deze oproepen" in text(response)
    assert nl.text("intro", "nl") in text(response)


def test_register_without_categories_asks_no_category_question(client, be):
    response = get(client, "/block/", host=BE_HOST)
    assert 'name="category_' not in response.content.decode()
    assert "blocks all telemarketing calls" in text(response)


BAD_NUMBERS = [
    # (input, English message, Dutch message)
    ("abc", "“abc” is not a valid telephone number.", "“abc” is geen geldig telefoonnummer."),
    (
        "+32 470 12 34 56",
        "“+32 470 12 34 56” is a number of another country; this register only holds numbers "
        "starting with +31.",
        "“+32 470 12 34 56” is een nummer uit een ander land; dit register bevat alleen nummers "
        "die beginnen met +31.",
    ),
    (
        "0900 1234567",
        "“0900 1234567” is a service number (such as 0800, 0900 or 112), not a personal number, "
        "and cannot be registered.",
        "“0900 1234567” is een servicenummer (zoals 0800, 0900 of 112), geen persoonlijk "
        "nummer, en kan niet worden ingeschreven.",
    ),
    (
        "112",
        "“112” is a service number",
        "“112” is een servicenummer",
    ),
    (
        "\n".join(f"06 123456{i:02d}" for i in range(1, 11)),
        "You can register at most 10 numbers at once; you entered 11.",
        "U kunt maximaal 10 nummers tegelijk inschrijven; u vulde er 11 in.",
    ),
]


@pytest.mark.parametrize(("numbers", "english", "dutch"), BAD_NUMBERS)
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_block_refuses_bad_numbers_with_a_message_naming_them_and_stores_nothing(
    client, nl, on_commit, numbers, english, dutch, lang
):
    data = {"numbers": f"06 12345678\n{numbers}", "email": "piet@example.nl", **NL_ANSWERS}
    with on_commit():
        response = post(client, "/block/", data, lang=lang)
    assert response.status_code == 200
    assert (english if lang == "en" else dutch) in text(response)
    assert stored_nothing()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "Choose “yes” for at least one kind of call, or nothing would be blocked."),
        ("nl", "Kies bij minstens één soort oproep “ja”, anders wordt er niets geblokkeerd."),
    ],
)
def test_block_needs_at_least_one_category(client, nl, lang, message):
    answers = dict.fromkeys(NL_ANSWERS, "no")
    response = post(
        client, "/block/", {"numbers": "0612345678", "email": "a@example.nl", **answers}, lang=lang
    )
    assert message in text(response)
    assert stored_nothing()


@pytest.mark.parametrize(
    ("lang", "message"), [("en", "Choose yes or no."), ("nl", "Kies ja of nee.")]
)
def test_block_needs_an_answer_for_every_category(client, nl, lang, message):
    data = {"numbers": "0612345678", "email": "a@example.nl", "category_commercial": "yes"}
    response = post(client, "/block/", data, lang=lang)
    assert text(response).count(message) == 2 * 2  # the summary and the field, ideal and charity
    assert stored_nothing()


def test_block_stores_a_pending_request_and_mails_the_link_in_the_visitors_language(
    client, nl, on_commit
):
    response = block_via_form(
        client, on_commit, numbers="06-12345678\n+31 6 12345678\n020 123 4567", lang="nl"
    )
    assert "piet@example.nl" in text(response)
    assert "+31 6 12345678" in text(response)
    assert "+31 20 123 4567" in text(response)
    assert "meer dan eens" in text(response)  # the duplicate is said to be merged
    with scopes_disabled():
        block_request = BlockRequest.objects.get()
    assert block_request.numbers == [31612345678, 31201234567]
    assert nl.category_codes(block_request.categories) == ["commercial", "charity"]
    assert block_request.language == "nl"
    assert block_request.expires_at - block_request.created_at == pytest.approx(
        timedelta(hours=72), abs=timedelta(seconds=5)
    )
    assert not is_blocked(nl)
    [message] = mail.outbox
    assert message.to == ["piet@example.nl"]
    assert "Bevestig" in message.subject
    link = confirm_link(message)
    assert link.startswith("http://nl.localhost/confirm/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert block_request.token_hash == token_hash(token) != token
    assert "+31 6 12345678" in message.body
    assert "Goede doelen" in message.body


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "Too many requests"), ("nl", "Te veel verzoeken")],
)
def test_block_form_is_rate_limited_per_client(client, nl, settings, on_commit, lang, message):
    settings.REGISTER_BLOCK_RATE = "1/m"
    block_via_form(client, on_commit, numbers="0612345678")
    data = {"numbers": "0687654321", "email": "piet@example.nl", **NL_ANSWERS}
    response = post(client, "/block/", data, lang=lang)
    assert response.status_code == 429
    assert message in text(response)
    with scopes_disabled():
        assert BlockRequest.objects.count() == 1


# --- Confirm ----------------------------------------------------------------------------------


def test_confirm_link_shows_what_will_be_blocked_and_blocks_only_on_the_button(
    client, nl, on_commit
):
    block_via_form(client, on_commit, numbers="0612345678")
    link = path_of(confirm_link(mail.outbox[0]))
    response = get(client, link)
    assert response.status_code == 200
    assert "+31 6 12345678" in text(response)
    assert "Confirm registration" in text(response)
    assert not is_blocked(nl)

    response = post(client, link, {})
    assert response.status_code == 200
    assert "Your registration is confirmed" in text(response)
    with scopes_disabled():
        blocked = BlockedNumber.objects.get()
        event = RegisterEvent.objects.get()
    today = timezone.now().astimezone(ZoneInfo("Europe/Amsterdam")).date()
    assert (blocked.number, blocked.registered_on, blocked.channel, blocked.email) == (
        31612345678,
        today,
        Channel.WEB,
        "piet@example.nl",
    )
    assert blocked.category_codes == ["commercial", "charity"]
    assert (event.number, event.action, event.channel, event.categories) == (
        31612345678,
        EventAction.BLOCK,
        Channel.WEB,
        blocked.categories,
    )


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "This link has already been used."), ("nl", "Deze link is al gebruikt.")],
)
def test_confirm_link_works_once(client, nl, on_commit, lang, message):
    block_via_form(client, on_commit, numbers="0612345678")
    link = path_of(confirm_link(mail.outbox[0]))
    post(client, link, {})
    for response in (get(client, link, lang=lang), post(client, link, {}, lang=lang)):
        assert response.status_code == 409
        assert message in text(response)
    with scopes_disabled():
        assert RegisterEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "This link has expired."), ("nl", "Deze link is verlopen.")],
)
def test_expired_confirm_link_blocks_nothing(client, nl, lang, message):
    token = make_request(nl, numbers=[31612345678], expires_in=timedelta(seconds=-1))
    for response in (
        get(client, f"/confirm/{token}/", lang=lang),
        post(client, f"/confirm/{token}/", {}, lang=lang),
    ):
        assert response.status_code == 410
        assert message in text(response)
    assert not is_blocked(nl)


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "This link is not valid."), ("nl", "Deze link is niet geldig.")],
)
def test_unknown_confirm_link_is_a_clear_404(client, nl, lang, message):
    response = post(client, "/confirm/not-a-token/", {}, lang=lang)
    assert response.status_code == 404
    assert message in text(response)


def test_reblocking_adds_categories_and_keeps_date_channel_and_email(client, nl):
    with scopes_disabled():
        BlockedNumber.objects.create(
            register=nl,
            number=31612345678,
            categories=nl.category_mask(["commercial"]),
            registered_on=date(2020, 1, 2),
            channel=Channel.PHONE,
        )
    token = make_request(nl, numbers=[31612345678, 31201234567], categories=["charity"])
    post(client, f"/confirm/{token}/", {})
    with scopes_disabled():
        old = BlockedNumber.objects.get(number=31612345678)
        events = {e.number: e.action for e in RegisterEvent.objects.all()}
    assert old.category_codes == ["commercial", "charity"]
    assert (old.registered_on, old.channel, old.email) == (date(2020, 1, 2), Channel.PHONE, "")
    assert events == {31612345678: EventAction.CHANGE, 31201234567: EventAction.BLOCK}


def test_reblocking_with_the_same_categories_changes_nothing(client, nl):
    first = make_request(nl, numbers=[31612345678])
    post(client, f"/confirm/{first}/", {})
    second = make_request(nl, numbers=[31612345678], categories=["charity"])
    response = post(client, f"/confirm/{second}/", {})
    assert response.status_code == 200
    with scopes_disabled():
        assert BlockedNumber.objects.get().categories == ALL_CATEGORIES
        assert RegisterEvent.objects.count() == 1


# Real commits so the two threads race on PostgreSQL; the seeded registers are restored after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_confirmations_block_once(nl):
    token = make_request(nl, numbers=[31612345678])
    barrier = threading.Barrier(2)
    outcomes = []

    def click():
        barrier.wait()
        try:
            with scopes_disabled():
                block_request_confirm(register=nl, token=token)
            outcomes.append("confirmed")
        except LinkUsed:
            outcomes.append("used")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["confirmed", "used"]
    with scopes_disabled():
        assert RegisterEvent.objects.count() == 1


# --- Check ------------------------------------------------------------------------------------


def blocked(register, number, *, categories=ALL_CATEGORIES, on=date(2024, 3, 5), **fields):
    with scopes_disabled():
        return BlockedNumber.objects.create(
            register=register,
            number=number,
            categories=categories,
            registered_on=on,
            channel=fields.pop("channel", Channel.WEB),
            **fields,
        )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["+31 6 12345678 is registered", "5 March 2024", "Charities"]),
        ("nl", ["+31 6 12345678 is ingeschreven", "5 maart 2024", "Goede doelen"]),
    ],
)
def test_check_shows_since_when_and_which_categories(client, nl, lang, expected):
    blocked(nl, 31612345678, categories=nl.category_mask(["charity"]))
    page = text(post(client, "/check/", {"number": "06 12345678"}, lang=lang))
    for fragment in expected:
        assert fragment in page
    assert nl.category_label("commercial", lang) not in page


def test_check_of_an_unregistered_number(client, nl):
    page = text(post(client, "/check/", {"number": "0612345678"}))
    assert "+31 6 12345678 is not registered" in page


@pytest.mark.parametrize(("numbers", "english", "dutch"), BAD_NUMBERS[:4])
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_check_explains_bad_numbers(client, nl, numbers, english, dutch, lang):
    response = post(client, "/check/", {"number": numbers}, lang=lang)
    assert (english if lang == "en" else dutch) in text(response)


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "You have used this form too often in a short time."),
        ("nl", "U heeft dit formulier in korte tijd te vaak gebruikt."),
    ],
)
def test_check_is_rate_limited_per_client(client, nl, settings, lang, message):
    settings.REGISTER_CHECK_RATE = "2/m"
    for _ in range(2):
        assert post(client, "/check/", {"number": "0612345678"}).status_code == 200
    response = post(client, "/check/", {"number": "0612345678"}, lang=lang)
    assert response.status_code == 429
    assert message in text(response)
    # Another client is not held back by the first.
    other = client.post(
        "/check/", {"number": "0612345678"}, HTTP_HOST=NL_HOST, REMOTE_ADDR="192.0.2.7"
    )
    assert other.status_code == 200


def test_registers_never_see_each_others_numbers(client, nl, be):
    blocked(nl, 31612345678)
    blocked(be, 32471234567)
    assert "+32 471 23 45 67 is registered" in text(
        post(client, "/check/", {"number": "0471 23 45 67"}, host=BE_HOST)
    )
    assert "another country" in text(
        post(client, "/check/", {"number": "+32 471 23 45 67"}, host=NL_HOST)
    )
    assert "another country" in text(
        post(client, "/check/", {"number": "+31 6 12345678"}, host=BE_HOST)
    )


def test_a_confirmation_link_of_one_register_is_unknown_on_another(client, nl, be):
    token = make_request(nl, numbers=[31612345678])
    response = post(client, f"/confirm/{token}/", {}, host=BE_HOST)
    assert response.status_code == 404
    assert not is_blocked(nl)


# --- Manage -----------------------------------------------------------------------------------


def request_manage_link(client, on_commit, *, email="piet@example.nl", host=NL_HOST, lang="en"):
    with on_commit():
        return post(client, "/manage/", {"email": email}, host=host, lang=lang)


def manage_link() -> str:
    return path_of(re.search(r"http://\S+/manage/\S+/", mail.outbox[-1].body).group(0))


def change(client, link, number, answers, **kwargs):
    data = {"number": number, **{f"n{number}-{key}": value for key, value in answers.items()}}
    return post(client, link, data, **kwargs)


def unblock(client, link, number, **kwargs):
    return post(client, f"{link}unblock/{number}/", {}, **kwargs)


def test_manage_answers_the_same_whether_or_not_the_address_matches(client, nl, on_commit):
    blocked(nl, 31612345678, email="piet@example.nl")
    blocked(nl, 31687654321, channel=Channel.PHONE, email="phone@example.nl")
    answers = [
        request_manage_link(client, on_commit, email="Piet@Example.nl"),
        request_manage_link(client, on_commit, email="someone@example.nl"),
        request_manage_link(client, on_commit, email="phone@example.nl"),
    ]
    assert {answer.status_code for answer in answers} == {302}
    assert {answer["Location"] for answer in answers} == {"/manage/sent/"}
    page = text(get(client, "/manage/sent/"))
    assert "info@bel-me-niet.nl" in page  # other channels: the service desk
    [message] = mail.outbox
    assert message.to == ["piet@example.nl"]
    assert "/manage/" in message.body
    assert "+31 6 12345678" in message.body


def test_one_link_manages_every_number_of_the_address_with_several_changes_in_one_visit(
    client, nl, on_commit
):
    blocked(nl, 31612345678, email="piet@example.nl")
    blocked(nl, 31612345679, email="PIET@example.nl")
    blocked(nl, 31612345670, email="other@example.nl")
    request_manage_link(client, on_commit)
    link = manage_link()
    page = text(get(client, link))
    assert "+31 6 12345678" in page and "+31 6 12345679" in page
    assert "+31 6 12345670" not in page  # another address's

    answers = {"category_commercial": "yes", "category_ideal": "no", "category_charity": "no"}
    response = change(client, link, 31612345678, answers)
    assert response.status_code == 302 and response["Location"] == link
    assert "Saved: calls blocked to +31 6 12345678 from now on: Commercial" in text(
        get(client, link)
    )
    # The same link, the same visit: a second change, then an unblock.
    answers = {"category_commercial": "no", "category_ideal": "yes", "category_charity": "no"}
    assert change(client, link, 31612345678, answers).status_code == 302
    with on_commit():
        assert unblock(client, link, 31612345679).status_code == 302
    with scopes_disabled():
        row = BlockedNumber.objects.get(number=31612345678)
        events = list(RegisterEvent.objects.order_by("id").values_list("number", "action"))
    assert row.category_codes == ["ideal"]
    assert row.registered_on == date(2024, 3, 5)
    assert events == [
        (31612345678, EventAction.CHANGE),
        (31612345678, EventAction.CHANGE),
        (31612345679, EventAction.UNBLOCK),
    ]
    page = text(get(client, link))
    assert "+31 6 12345679 is no longer registered" in page
    assert "+31 6 12345678" in page


def test_unblocking_asks_to_confirm_first_and_mails_a_receipt(client, nl, on_commit):
    blocked(nl, 31612345678, email="piet@example.nl")
    request_manage_link(client, on_commit)
    link = manage_link()
    question = get(client, f"{link}unblock/31612345678/")
    assert question.status_code == 200
    assert "Unblock +31 6 12345678?" in text(question)
    assert is_blocked(nl)  # opening the question unblocks nothing
    with on_commit():
        response = unblock(client, link, 31612345678)
    assert response.status_code == 302
    assert not is_blocked(nl)
    receipt = mail.outbox[-1]
    assert receipt.to == ["piet@example.nl"]
    assert "+31 6 12345678" in receipt.body
    assert "no longer registered" in receipt.subject
    again = unblock(client, link, 31612345678)
    assert again.status_code == 404
    assert "no longer, registered with your e-mail address" in text(again)


@pytest.mark.parametrize(
    ("lang", "subject", "body"),
    [
        ("en", "Your number is no longer registered", "It is no longer registered"),
        ("nl", "Uw nummer is niet meer ingeschreven", "Het is niet meer ingeschreven"),
    ],
)
def test_the_unblock_receipt_is_in_the_language_the_link_was_asked_in(
    client, nl, on_commit, lang, subject, body
):
    blocked(nl, 31612345678, email="piet@example.nl")
    request_manage_link(client, on_commit, lang=lang)
    with on_commit():
        unblock(client, manage_link(), 31612345678, lang="en")
    assert subject in mail.outbox[-1].subject
    assert body in mail.outbox[-1].body


def test_the_receipt_is_in_french_on_be(client, be, on_commit):
    blocked(be, 32471234567, email="jan@example.be")
    request_manage_link(client, on_commit, email="jan@example.be", host=BE_HOST, lang="fr")
    with on_commit():
        unblock(client, manage_link(), 32471234567, host=BE_HOST)
    assert "n'est plus inscrit" in mail.outbox[-1].subject


def test_a_link_cannot_touch_another_address_s_number(client, nl, on_commit):
    blocked(nl, 31612345678, email="piet@example.nl")
    blocked(nl, 31687654321, email="other@example.nl")
    request_manage_link(client, on_commit)
    link = manage_link()
    assert unblock(client, link, 31687654321).status_code == 404
    assert get(client, f"{link}unblock/31687654321/").status_code == 404
    answers = {"category_commercial": "yes", "category_ideal": "no", "category_charity": "no"}
    assert change(client, link, 31687654321, answers).status_code == 404
    with scopes_disabled():
        assert BlockedNumber.objects.count() == 2
        assert not RegisterEvent.objects.exists()


def test_manage_link_refuses_to_change_to_nothing_and_focuses_the_summary(client, nl, on_commit):
    blocked(nl, 31612345678, email="piet@example.nl")
    request_manage_link(client, on_commit)
    answers = dict.fromkeys(NL_ANSWERS, "no")
    response = change(client, manage_link(), 31612345678, answers, lang="nl")
    assert response.status_code == 200
    assert "anders wordt er niets geblokkeerd" in text(response)
    assert 'id="error-summary"' in response.content.decode()
    with scopes_disabled():
        assert BlockedNumber.objects.get().categories == ALL_CATEGORIES
        assert not RegisterEvent.objects.exists()


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "This link has expired."), ("nl", "Deze link is verlopen.")],
)
@pytest.mark.parametrize(
    ("used", "later"),
    [
        (False, timedelta(hours=73)),  # never used: the link's 72 hours
        (True, timedelta(minutes=61)),  # used: the visit's hour after its first change
    ],
)
def test_manage_link_expires(client, nl, on_commit, lang, message, used, later):
    blocked(nl, 31612345678, email="piet@example.nl")
    blocked(nl, 31612345679, email="piet@example.nl")
    request_manage_link(client, on_commit)
    link = manage_link()
    if used:
        answers = {"category_commercial": "yes", "category_ideal": "no", "category_charity": "no"}
        assert change(client, link, 31612345679, answers).status_code == 302
    with freeze_time(timezone.now() + later):
        response = unblock(client, link, 31612345678, lang=lang)
        assert response.status_code == 410
        assert message in text(response)
        assert get(client, link, lang=lang).status_code == 410
    with scopes_disabled():
        assert BlockedNumber.objects.filter(number=31612345678).exists()


def test_a_used_link_still_works_within_its_visit(client, nl, on_commit):
    blocked(nl, 31612345678, email="piet@example.nl")
    blocked(nl, 31612345679, email="piet@example.nl")
    request_manage_link(client, on_commit)
    link = manage_link()
    answers = {"category_commercial": "yes", "category_ideal": "no", "category_charity": "no"}
    assert change(client, link, 31612345679, answers).status_code == 302
    with freeze_time(timezone.now() + timedelta(minutes=59)):
        assert unblock(client, link, 31612345678).status_code == 302


def test_manage_link_of_one_register_is_unknown_on_another(client, nl, be, on_commit):
    blocked(nl, 31612345678, email="piet@example.nl")
    request_manage_link(client, on_commit)
    response = unblock(client, manage_link(), 31612345678, host=BE_HOST)
    assert response.status_code == 404
    assert is_blocked(nl)


def test_be_manage_page_offers_only_unblock(client, be, on_commit):
    blocked(be, 32471234567, email="jan@example.be")
    request_manage_link(client, on_commit, email="jan@example.be", host=BE_HOST)
    page = get(client, manage_link(), host=BE_HOST).content.decode()
    assert "/unblock/32471234567/" in page
    assert "category_" not in page


def test_the_hourly_purge_deletes_expired_manage_links_only(client, nl, on_commit):
    blocked(nl, 31612345678, email="piet@example.nl")
    request_manage_link(client, on_commit)
    request_manage_link(client, on_commit)
    with scopes_disabled():
        old = ManageLink.objects.order_by("pk").first()
        ManageLink.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert purge_unconfirmed_blocks() == 1
    assert purge_unconfirmed_blocks() == 0
    with scopes_disabled():
        assert list(ManageLink.objects.values_list("pk", flat=True)) != [old.pk]
        assert ManageLink.objects.count() == 1


# --- The confirmation mail, the date calls stop, the "still being called?" route ---------------


@pytest.mark.parametrize(
    ("slug", "lang", "expected"),
    [
        # Confirmed on 7 December 2026; a scrub is used 4 weeks, so calls stop on 4 January.
        ("nl", "en", ["From 4 January 2027 no company may call", "for 4 weeks", "Commercial"]),
        ("nl", "nl", ["Vanaf 4 januari 2027 mag geen bedrijf", "4 weken", "Commerciële"]),
        ("be", "fr", ["À partir du 4 janvier 2027, aucune entreprise", "4 semaines"]),
        ("be", "nl", ["Vanaf 4 januari 2027 mag geen bedrijf", "4 weken"]),
    ],
)
def test_a_confirmed_block_is_mailed_with_the_date_calls_must_stop(
    client, nl, be, on_commit, slug, lang, expected
):
    register = nl if slug == "nl" else be
    number = 31612345678 if slug == "nl" else 32471234567
    with scopes_disabled(), TestCase.captureOnCommitCallbacks(execute=True):
        block_request_create(
            register=register,
            numbers=[number],
            categories=["commercial"] if register.categories else [],
            email="piet@example.nl",
            language=lang,
            base_url=f"http://{register.hostnames[0]}/",
        )
    token = re.search(r"/confirm/(\S+)/", mail.outbox[-1].body).group(1)
    host = NL_HOST if slug == "nl" else BE_HOST
    with freeze_time("2026-12-07 10:00:00+01:00"), on_commit():
        page = post(client, f"/confirm/{token}/", {}, host=host, lang=lang)
    assert page.status_code == 200
    message = mail.outbox[-1]
    assert message.to == ["piet@example.nl"]
    body = " ".join(message.body.split())
    for fragment in expected:
        assert fragment in body, fragment
    assert "/manage/" in body
    assert expected[0] in text(page)


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        (
            date(2026, 12, 1),
            "calls can go on until 28 December 2026. From 29 December 2026 no company",
        ),
        (date(2026, 11, 1), "Companies may no longer call this number"),
    ],
)
def test_check_says_until_when_calls_may_go_on_and_where_to_report_them(
    client, nl, registered, expected
):
    blocked(nl, 31612345678, on=registered)
    with freeze_time("2026-12-07 10:00:00+01:00"):
        response = post(client, "/check/", {"number": "0612345678"})
    page = text(response)
    assert "Still being called?" in page
    assert expected in page
    assert 'href="/cases/report/"' in response.content.decode()


@pytest.mark.parametrize(
    ("raw", "lang", "message"),
    [
        ("06123456789", "en", "“06123456789” has one digit too many"),
        ("06 1234 56789", "nl", "“06 1234 56789” heeft één cijfer te veel"),
        ("+31 6 123456789", "en", "has one digit too many"),
        ("061234567", "en", "“061234567” is too short: a digit seems to be missing."),
        ("abc", "en", "“abc” is not a valid telephone number."),
    ],
)
def test_a_number_of_the_wrong_length_says_so(client, nl, raw, lang, message):
    for url, data in [("/check/", {"number": raw}), ("/block/", {"numbers": raw})]:
        assert message in text(post(client, url, data, lang=lang))


def test_focus_moves_to_the_error_summary_by_a_script_the_csp_allows(client, nl):
    response = post(client, "/check/", {"number": "abc"})
    html = response.content.decode()
    assert re.search(
        r'<div class="error-summary" id="error-summary"[^>]*tabindex="-1" autofocus', html
    )
    nonce = re.search(
        r'<script nonce="([^"]+)">document.getElementById\("error-summary"\).focus', html
    )
    assert nonce is not None
    assert f"'nonce-{nonce.group(1)}'" in response["Content-Security-Policy"]
    assert "error-summary" not in text(get(client, "/check/"))


# --- Purge ------------------------------------------------------------------------------------


def test_purge_deletes_only_unconfirmed_requests_past_expiry_and_can_run_twice(nl, client):
    make_request(nl, numbers=[31612345678], expires_in=timedelta(hours=-1))
    make_request(nl, numbers=[31612345679])
    confirmed = make_request(nl, numbers=[31612345670])
    post(client, f"/confirm/{confirmed}/", {})
    with scopes_disabled():
        BlockRequest.objects.filter(confirmed_at__isnull=False).update(
            expires_at=timezone.now() - timedelta(hours=1)
        )
    assert purge_unconfirmed_blocks() == 1
    assert purge_unconfirmed_blocks() == 0
    with scopes_disabled():
        assert BlockRequest.objects.count() == 2
