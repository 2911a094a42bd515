"""The one rule for blocking a number, whatever the channel (SPEC §5, §11): register.services.
numbers_block, which the web confirmation and the company files both go through."""

from datetime import date

import pytest
from django_scopes import scopes_disabled

from register.models import ALL_CATEGORIES, BlockedNumber, Channel, RegisterEvent
from register.services import block_request_confirm, numbers_block
from tests.races import run_at_once
from tests.register.test_consumer import make_request

pytestmark = pytest.mark.django_db

NUMBER = 31612345678
COMMERCIAL, IDEAL, CHARITY = 0b001, 0b010, 0b100
EARLIER = date(2020, 1, 1)

# One row per case of the rule in the Dutch register: the number's categories before (None: not
# registered), the categories asked for, the categories after, the events written.
RULE = [
    ("new number", None, COMMERCIAL, COMMERCIAL, [("block", COMMERCIAL)]),
    ("new number, all", None, ALL_CATEGORIES, ALL_CATEGORIES, [("block", ALL_CATEGORIES)]),
    ("more categories", COMMERCIAL, CHARITY, COMMERCIAL | CHARITY, [("change", 0b101)]),
    ("the rest makes all", COMMERCIAL | IDEAL, CHARITY, ALL_CATEGORIES, [("change", -1)]),
    ("all added to some", IDEAL, ALL_CATEGORIES, ALL_CATEGORIES, [("change", -1)]),
    ("nothing new", COMMERCIAL | CHARITY, CHARITY, COMMERCIAL | CHARITY, []),
    ("some added to all", ALL_CATEGORIES, IDEAL, ALL_CATEGORIES, []),
]


def _web(register, categories: int, channel: Channel) -> None:
    token = make_request(register, numbers=[NUMBER], categories=register.category_codes(categories))
    with scopes_disabled():
        block_request_confirm(register=register, token=token)


def _service(register, categories: int, channel: Channel) -> None:
    with scopes_disabled():
        numbers_block(register=register, numbers=[NUMBER], categories=[categories], channel=channel)


@pytest.mark.parametrize(("path", "channel"), [(_web, Channel.WEB), (_service, Channel.COMPANY)])
@pytest.mark.parametrize(
    ("before", "asked", "after", "events"), [row[1:] for row in RULE], ids=[row[0] for row in RULE]
)
def test_blocking_adds_categories_and_keeps_date_channel_and_address(
    nl, path, channel, before, asked, after, events
):
    if before is not None:
        with scopes_disabled():
            BlockedNumber.objects.create(
                number=NUMBER,
                register=nl,
                categories=before,
                registered_on=EARLIER,
                channel=Channel.PHONE,
                email="first@example.nl",
            )

    path(nl, asked, channel)

    with scopes_disabled():
        blocked = BlockedNumber.objects.get(number=NUMBER)
        written = [
            (event.action, event.categories, event.channel)
            for event in RegisterEvent.objects.filter(number=NUMBER).order_by("id")
        ]
    assert blocked.categories == after
    assert written == [(action, categories, channel) for action, categories in events]
    if before is not None:
        assert (blocked.registered_on, blocked.channel, blocked.email) == (
            EARLIER,
            Channel.PHONE,
            "first@example.nl",
        )
    else:
        assert (blocked.registered_on, blocked.channel) == (nl.today(), channel)


# Real commits so the two threads race on PostgreSQL; the seeded registers are restored after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_consumer_and_a_company_file_blocking_at_once_both_get_their_categories(nl):
    token = make_request(nl, numbers=[NUMBER], categories=["commercial"])

    def consumer():
        block_request_confirm(register=nl, token=token)

    def company_file():
        numbers_block(register=nl, numbers=[NUMBER], categories=[CHARITY], channel=Channel.COMPANY)

    failures = run_at_once(consumer, company_file)
    assert failures == []
    with scopes_disabled():
        assert BlockedNumber.objects.get(number=NUMBER).categories == COMMERCIAL | CHARITY
        actions = sorted(e.action for e in RegisterEvent.objects.filter(number=NUMBER))
    assert actions == ["block", "change"]
