"""Credits are spent under a row lock, once per reference, never below zero (SPEC §7, seed 000)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django_scopes import scope, scopes_disabled

from licences.models import CreditAccount, CreditEntry
from licences.services import credits_spend
from register.errors import InsufficientCredits
from tests.factories import CampaignFactory, CreditAccountFactory

SCRUB = CreditEntry.Reason.SCRUB


@pytest.fixture
def campaign(nl):
    return CreditAccountFactory(campaign__company__register=nl, balance=100).campaign


def balance_of(campaign) -> int:
    with scopes_disabled():
        return CreditAccount.objects.get(campaign=campaign).balance


@pytest.mark.django_db
def test_spending_lowers_the_balance_and_records_an_entry(nl, campaign):
    with scope(register=nl):
        entry = credits_spend(campaign=campaign, amount=30, reference="scrub:1", reason=SCRUB)
    assert (entry.delta, entry.balance_after, balance_of(campaign)) == (-30, 70, 70)


@pytest.mark.django_db
def test_spending_again_with_the_same_reference_charges_nothing(nl, campaign):
    with scope(register=nl):
        first = credits_spend(campaign=campaign, amount=30, reference="scrub:1", reason=SCRUB)
        again = credits_spend(campaign=campaign, amount=30, reference="scrub:1", reason=SCRUB)
    assert again.pk == first.pk
    assert balance_of(campaign) == 70


@pytest.mark.django_db
def test_spending_more_than_the_balance_says_what_is_needed_and_charges_nothing(nl, campaign):
    with scope(register=nl), pytest.raises(InsufficientCredits) as raised:
        credits_spend(campaign=campaign, amount=101, reference="scrub:1", reason=SCRUB)
    assert raised.value.status == 402
    assert "101" in str(raised.value) and "100" in str(raised.value)
    assert balance_of(campaign) == 100


@pytest.mark.django_db
def test_a_campaign_without_credits_cannot_spend(nl):
    campaign = CampaignFactory(company__register=nl)
    with scope(register=nl), pytest.raises(InsufficientCredits):
        credits_spend(campaign=campaign, amount=1, reference="scrub:1", reason=SCRUB)


def run_spenders(nl, spend, count: int, *, threads: int) -> list[int]:
    """Runs `count` spenders of the same account at once; each opens and closes its own
    connection. Returns the amounts that were accepted."""

    def spender(number: int) -> int:
        try:
            with scope(register=nl):
                return spend(number)
        except InsufficientCredits:
            return 0
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [amount for amount in pool.map(spender, range(count)) if amount]


# 50 spenders on 20 threads: four engineers share one PostgreSQL of 100 connections.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_concurrent_spenders_never_overdraw_and_every_spend_is_counted(nl, campaign):
    start = threading.Barrier(20)

    def spend(number: int) -> int:
        if number < 20:
            start.wait(timeout=30)
        credits_spend(campaign=campaign, amount=7, reference=f"scrub:{number}", reason=SCRUB)
        return 7

    accepted = run_spenders(nl, spend, 50, threads=20)

    final = balance_of(campaign)
    assert final >= 0
    assert sum(accepted) == 100 - final
    assert len(accepted) == 100 // 7
    with scopes_disabled():
        entries = CreditEntry.objects.filter(account__campaign=campaign)
        assert entries.count() == len(accepted)
        assert sorted(entries.values_list("balance_after", flat=True)) == list(range(2, 100, 7))


def naive_spend(*, campaign, amount: int, reference: str, read_together: threading.Barrier):
    """The read-modify-write without `select_for_update`: what credits_spend must not be."""
    with transaction.atomic():
        account = CreditAccount.objects.get(campaign=campaign)
        read_together.wait(timeout=30)
        if account.balance < amount:
            raise InsufficientCredits
        account.balance -= amount
        account.save(update_fields=["balance"])
        CreditEntry.objects.create(
            register_id=account.register_id,
            account=account,
            delta=-amount,
            balance_after=account.balance,
            reason=SCRUB,
            reference=reference,
        )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_the_row_lock_the_same_race_loses_updates(nl, campaign):
    """Control: two spenders both read 100 before either writes, both spend 60, and the
    account says 40: 120 credits left an account that held 100."""
    read_together = threading.Barrier(2)

    def spend(number: int) -> int:
        naive_spend(
            campaign=campaign, amount=60, reference=f"naive:{number}", read_together=read_together
        )
        return 60

    accepted = run_spenders(nl, spend, 2, threads=2)

    assert accepted == [60, 60]
    assert balance_of(campaign) == 40
    assert sum(accepted) > 100 - balance_of(campaign)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_the_row_lock_the_same_race_spends_once(nl, campaign):
    """The same two spenders through credits_spend: the second waits for the first's lock and
    then sees 40 left, so it is refused."""
    both_ready = threading.Barrier(2)

    def spend(number: int) -> int:
        both_ready.wait(timeout=30)
        credits_spend(campaign=campaign, amount=60, reference=f"locked:{number}", reason=SCRUB)
        return 60

    accepted = run_spenders(nl, spend, 2, threads=2)

    assert accepted == [60]
    assert balance_of(campaign) == 40
