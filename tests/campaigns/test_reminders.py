"""The mail a week before a marked file's or a download's use period ends (issue 13; seed 000's
four weeks): once, to whoever made it, by a daily job over every register."""

import datetime

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from campaigns.history.reminders import use_period_reminders_send
from campaigns.history.tasks import use_period_reminders_task
from campaigns.models import CallFile, Download
from tests.factories import CampaignFactory, CompanyFactory, CreditAccountFactory, UserFactory
from tests.portal.test_history import download, scrub

pytestmark = pytest.mark.django_db

USE_PERIOD = datetime.timedelta(days=28)


@pytest.fixture
def campaign(nl):
    campaign = CampaignFactory(company=CompanyFactory(register=nl), name="Najaar")
    CreditAccountFactory(campaign=campaign, balance=100)
    return campaign


def made_to_end_on(end: datetime.date) -> datetime.date:
    return end - USE_PERIOD


def committed(function, **kwargs):
    """The mails go once the claim is committed; the test's transaction never commits, so its
    on-commit callbacks are run as the call returns."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return function(**kwargs)


def send(register, today):
    with scope(register=register):
        return committed(use_period_reminders_send, register=register, today=today)


def test_a_result_ending_in_a_week_is_reminded_once(nl, campaign):
    today = datetime.date(2026, 12, 7)
    user = UserFactory(email="planner@najaar.example")
    ending = scrub(campaign, user, "najaar.csv", made_to_end_on(today + datetime.timedelta(7)))
    scrub(campaign, user, "later.csv", made_to_end_on(today + datetime.timedelta(8)))
    scrub(campaign, None, "zonder-gebruiker.csv", made_to_end_on(today + datetime.timedelta(7)))

    assert send(nl, today) == 1
    (message,) = mail.outbox
    assert message.to == ["planner@najaar.example"]
    assert message.subject == "najaar.csv mag worden gebruikt tot 14 december 2026"
    assert f"/campaigns/call-files/{ending.pk}/" in message.body
    assert "Najaar" in message.body

    # A second run the same day mails nobody again; the next day's reminds the later file only.
    assert send(nl, today) == 0
    assert send(nl, today + datetime.timedelta(1)) == 1
    assert mail.outbox[1].subject.startswith("later.csv ")
    assert send(nl, today + datetime.timedelta(1)) == 0


def test_a_purged_result_is_not_reminded(nl, campaign):
    today = datetime.date(2026, 12, 7)
    call_file = scrub(campaign, UserFactory(), "weg.csv", made_to_end_on(today))
    with scopes_disabled():
        CallFile.objects.filter(pk=call_file.pk).update(files_deleted_at=timezone.now())

    assert send(nl, today) == 0


def test_a_download_is_reminded_of_the_end_of_its_use_period(nl, campaign):
    today = datetime.date(2026, 12, 7)
    user = UserFactory(email="lijsten@najaar.example")
    download(campaign, user, made_to_end_on(today + datetime.timedelta(3)))
    extended = UserFactory(email="verlengd@najaar.example")
    download(campaign, extended, made_to_end_on(today + datetime.timedelta(2)))
    with scopes_disabled():
        # Extended by its call centre by four weeks: not ending this week after all.
        Download.objects.filter(created_by=extended).update(
            extended_until=today + datetime.timedelta(30), extended_by=campaign.company
        )

    assert send(nl, today) == 1
    (message,) = mail.outbox
    assert message.to == ["lijsten@najaar.example"]
    assert "10 december 2026" in message.subject
    assert "/downloads/" in message.body


def test_the_daily_task_runs_over_every_register(nl, be, campaign):
    user = UserFactory(email="planner@najaar.example")
    scrub(campaign, user, "vandaag.csv", made_to_end_on(nl.today() + datetime.timedelta(5)))

    assert committed(use_period_reminders_task) == 1
    assert committed(use_period_reminders_task) == 0
    assert len(mail.outbox) == 1
