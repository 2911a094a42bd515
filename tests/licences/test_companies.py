"""Companies, memberships and API keys (SPEC §3, §6)."""

import pytest
from django_scopes import scope

from licences.authentication import hash_key
from licences.models import Role
from licences.selectors import companies_for_user, membership_for
from licences.services import (
    api_key_create,
    company_create,
    membership_add,
    membership_remove,
)
from register.errors import DomainError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_user_sees_the_companies_of_the_register_they_belong_to(nl, be):
    user = UserFactory()
    with scope(register=nl):
        own = company_create(register=nl, name="A", owner=user)
        company_create(register=nl, name="B", owner=UserFactory())
    with scope(register=be):
        company_create(register=be, name="C", owner=user)
    with scope(register=nl):
        assert list(companies_for_user(user=user, register=nl)) == [own]
        assert membership_for(user=user, company=own).role == Role.OWNER
        assert own.billing_email == user.email


def test_the_last_owner_cannot_be_removed(nl):
    owner, member = UserFactory(), UserFactory()
    with scope(register=nl):
        company = company_create(register=nl, name="A", owner=owner)
        other = membership_add(company=company, user=member, role=Role.MEMBER)
        with pytest.raises(DomainError) as raised:
            membership_remove(membership=membership_for(user=owner, company=company))
        membership_remove(membership=other)
        assert membership_for(user=member, company=company) is None
    assert raised.value.code == "last_owner"


def test_an_api_key_is_returned_once_and_stored_as_a_hash(nl):
    with scope(register=nl):
        company = company_create(register=nl, name="A", owner=UserFactory())
        api_key, raw = api_key_create(company=company, name="ci")
    assert raw.startswith("dnc_") and len(raw) >= 40
    assert api_key.key_hash == hash_key(raw) and raw not in api_key.key_hash
    assert raw.startswith(api_key.prefix) and len(api_key.prefix) < len(raw) // 3
