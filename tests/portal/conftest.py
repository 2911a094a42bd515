"""Portal fixtures: a company with its owner, member and accounting users, and clients for
them on the nl register's host."""

import pytest
from django.test import Client

from licences.models import Role
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, get_register

NL_HOST = "nl.localhost"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(fresh_rate_limits):
    """Every test here starts with no rate limit used."""


@pytest.fixture
def nl(db):
    return get_register("nl")


@pytest.fixture
def company(nl):
    return CompanyFactory(register=nl, name="Bakkerij De Korenschoof B.V.")


def member_of(company, role: str, email: str):
    user = UserFactory(email=email)
    MembershipFactory(company=company, user=user, role=role)
    return user


@pytest.fixture
def owner(company):
    return member_of(company, Role.OWNER, "owner@korenschoof.example")


@pytest.fixture
def member(company):
    return member_of(company, Role.MEMBER, "member@korenschoof.example")


@pytest.fixture
def accountant(company):
    return member_of(company, Role.ACCOUNTING, "accounting@korenschoof.example")


def client_for(user=None, host: str = NL_HOST) -> Client:
    client = Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def anonymous():
    return client_for()


@pytest.fixture
def owner_client(owner):
    return client_for(owner)


@pytest.fixture
def member_client(member):
    return client_for(member)


@pytest.fixture(autouse=True)
def _media(media_root):
    """Invoice PDFs of portal tests go to a temporary folder."""


@pytest.fixture
def queued_deliveries(monkeypatch) -> list[int]:
    """Invoice ids handed to the delivery task after commit, instead of to the broker."""
    queued: list[int] = []
    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", queued.append)
    return queued
