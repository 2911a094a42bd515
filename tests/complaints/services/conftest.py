"""Fixtures of the case service tests: staff and a company of the nl register, its scope."""

import pytest
from django.contrib.auth import get_user_model
from django_scopes import scope

from tests.factories import CompanyFactory


@pytest.fixture(autouse=True)
def _files_and_letters(media_root, letters_delivered_at_once):
    """Attachments and letter PDFs go to a temporary folder; letters are mailed at commit."""


@pytest.fixture
def staff(nl):
    user = get_user_model().objects.create_user(
        username="director@example.com", email="director@example.com", is_staff=True
    )
    nl.staff.add(user)
    return user


@pytest.fixture
def company(nl):
    return CompanyFactory(register=nl)


@pytest.fixture
def scoped(nl):
    with scope(register=nl):
        yield
