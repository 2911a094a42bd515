"""Deadline reminders to staff (SPEC §13, §14)."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from complaints import services
from complaints.tasks import deadline_reminders
from tests.complaints.services.cases import AMSTERDAM, OVERDUE_NL, file_case

pytestmark = pytest.mark.django_db


class TestReminders:
    """Staff are warned of deadlines due within 2 working days and of overdue ones, once each
    (SPEC §13)."""

    @pytest.fixture
    def request_case(self, nl, scoped):
        # Received Monday 3 March 2025: handled by Monday 10 March (art. 2.1).
        return file_case(
            nl, channel="email", received_at=datetime.datetime(2025, 3, 3, 9, tzinfo=AMSTERDAM)
        )

    def test_due_soon_then_overdue_once_each(self, nl, staff, request_case):
        send = services.deadline_reminders_send
        assert send(register=nl, today=datetime.date(2025, 3, 5)) == 0  # 3 working days ahead
        assert send(register=nl, today=datetime.date(2025, 3, 6)) == 1
        assert send(register=nl, today=datetime.date(2025, 3, 7)) == 0
        assert send(register=nl, today=datetime.date(2025, 3, 11)) == 1
        assert send(register=nl, today=datetime.date(2025, 3, 12)) == 0
        soon, overdue = mail.outbox
        assert soon.to == overdue.to == ["director@example.com"]
        assert "Still called" in soon.body
        assert f"/admin/complaints/case/{request_case.pk}/change/" in soon.body
        assert OVERDUE_NL not in soon.body
        assert OVERDUE_NL in overdue.body

    def test_a_met_deadline_is_not_reminded(self, nl, staff, request_case):
        services.case_decide(case=request_case, motivation="Done.", by=staff)
        assert services.deadline_reminders_send(register=nl, today=datetime.date(2025, 3, 11)) == 0
        assert mail.outbox == []

    def test_the_daily_task_warns_each_register_once(self, nl, staff, scoped):
        file_case(nl, channel="post", received_at=timezone.now() - datetime.timedelta(days=30))
        assert deadline_reminders() == 1
        assert deadline_reminders() == 0
        [message] = mail.outbox
        assert OVERDUE_NL in message.body
