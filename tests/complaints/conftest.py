"""Complaints fixtures shared by the service and admin tests."""

import pytest

from complaints.tasks import letter_deliver


@pytest.fixture
def letters_delivered_at_once(monkeypatch):
    """The delivery task runs in this process when the step commits, instead of on a worker."""
    monkeypatch.setattr("complaints.tasks.letter_deliver.delay", letter_deliver)
