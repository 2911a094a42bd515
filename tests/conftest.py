import pytest
from django_scopes import scopes_disabled

from register.models import Register


@pytest.fixture
def nl(db) -> Register:
    with scopes_disabled():
        return Register.objects.get(slug="nl")


@pytest.fixture
def be(db) -> Register:
    with scopes_disabled():
        return Register.objects.get(slug="be")
