"""The scripting commands of SPEC §16, run as an operator would."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import translation
from django_scopes import scopes_disabled

from licences.authentication import hash_key
from licences.models import (
    ApiKey,
    Company,
    CompanyType,
    CreditAccount,
    EmployeeBand,
    Licence,
    LicenceSource,
    Role,
)
from tests.factories import CampaignFactory, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Commands print in the active language (nl by default); these tests read the English."""
    with translation.override("en"):
        yield


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_company_makes_an_owner_without_password_and_prints_one_json_line(be):
    out = run(
        "create_company",
        "--register=be",
        "--name=Bellers NV",
        "--owner-email=Boss@Example.com",
        "--type=service_provider",
        "--employees=300",
    )
    (line,) = out.splitlines()
    printed = json.loads(line)
    with scopes_disabled():
        company = Company.objects.get(pk=printed["id"])
        membership = company.memberships.get()
    assert printed == {"id": company.pk, "name": "Bellers NV", "register": "be"}
    assert (company.register, company.company_type, company.employee_band) == (
        be,
        CompanyType.SERVICE_PROVIDER,
        EmployeeBand.OVER_250,
    )
    assert (membership.user.username, membership.role) == ("boss@example.com", Role.OWNER)
    assert not membership.user.has_usable_password()


def test_create_company_reuses_the_user_of_a_known_e_mail(nl):
    user = UserFactory(email="owner@example.com")
    printed = json.loads(
        run("create_company", "--register=nl", "--name=A", "--owner-email=owner@example.com")
    )
    with scopes_disabled():
        assert Company.objects.get(pk=printed["id"]).memberships.get().user == user
    assert get_user_model().objects.count() == 1
    assert user.has_usable_password()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--register=xx", "--name=A", "--owner-email=a@example.com"], "No register 'xx'"),
        (["--register=nl", "--name=A", "--owner-email=nope"], "Not an e-mail address"),
        (["--register=nl", "--name=A", "--owner-email=a@example.com", "--employees=0"], "least"),
    ],
)
def test_create_company_refuses_bad_input(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_company", *args)


def test_create_api_key_prints_a_working_key_as_its_last_line(nl):
    company = CompanyFactory(register=nl)
    key = run("create_api_key", f"--company={company.pk}", "--name=ci").splitlines()[-1]
    with scopes_disabled():
        api_key = ApiKey.objects.get(key_hash=hash_key(key))
    assert key.startswith("dnc_") and len(key) > 40
    assert (api_key.company, api_key.name, key.startswith(api_key.prefix)) == (company, "ci", True)


def test_create_api_key_for_an_unknown_company_fails(db):
    with pytest.raises(CommandError, match="No company"):
        run("create_api_key", "--company=999999")


def test_grant_licence_records_a_grant_and_credits_the_campaign(nl):
    campaign = CampaignFactory(company__register=nl)
    out = run(
        "grant_licence",
        f"--company={campaign.company_id}",
        "--product=marking-2",
        f"--campaign={campaign.pk}",
    )
    with scopes_disabled():
        licence = Licence.objects.get(company=campaign.company_id)
        balance = CreditAccount.objects.get(campaign=campaign).balance
    assert f"Granted licence {licence.pk}" in out
    assert (licence.source, licence.campaign, balance) == (LicenceSource.GRANT, campaign, 25_000)


def test_grant_licence_of_a_company_wide_be_product(be):
    company = CompanyFactory(register=be, employee_band=EmployeeBand.OVER_250)
    run("grant_licence", f"--company={company.pk}", "--product=advertiser-large")
    with scopes_disabled():
        licence = Licence.objects.get(company=company)
    assert (licence.product.code, licence.source, licence.renews) == (
        "advertiser-large",
        LicenceSource.GRANT,
        True,
    )


@pytest.mark.parametrize(
    ("product", "campaign", "message"),
    [
        ("marking-1", None, "give --campaign"),
        ("marking-9", None, "No product 'marking-9' in nl"),
        ("marking-1", "other", "has no campaign"),
        ("service", None, "not offered to companies of this type"),
    ],
)
def test_grant_licence_refuses_bad_input_clearly(nl, product, campaign, message):
    company = CompanyFactory(register=nl)
    args = [f"--company={company.pk}", f"--product={product}"]
    if campaign == "other":
        args.append(f"--campaign={CampaignFactory(company__register=nl).pk}")
    with pytest.raises(CommandError, match=message):
        run("grant_licence", *args)
    with scopes_disabled():
        assert not Licence.objects.filter(company=company).exists()
