"""Staff admin of companies, the catalogue, licences, credits and API keys."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_scopes import scopes_disabled

from campaigns.models import Campaign
from licences.models import (
    ApiKey,
    Company,
    CreditAccount,
    CreditEntry,
    Licence,
    LicenceProduct,
    LicenceStatus,
)
from register.models import ActionLog
from tests.factories import (
    ApiKeyFactory,
    CreditAccountFactory,
    LicenceFactory,
    MembershipFactory,
    UserFactory,
    get_product,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, nl):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    client.defaults["HTTP_HOST"] = "nl.localhost"
    return client


@pytest.mark.parametrize(
    "model", [Company, LicenceProduct, Licence, CreditAccount, CreditEntry, ApiKey, Campaign]
)
def test_every_changelist_and_change_page_renders(admin_client, nl, model):
    membership = MembershipFactory(company__register=nl)
    account = CreditAccountFactory(campaign__company=membership.company, balance=3)
    with scopes_disabled():
        CreditEntry.objects.create(
            register=nl, account=account, delta=3, balance_after=3, reason="grant", reference="g"
        )
    LicenceFactory(company=membership.company)
    ApiKeyFactory(company=membership.company)
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    with scopes_disabled():
        obj = model.objects.filter(register=nl).first()
    assert admin_client.get(reverse(f"{name}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"{name}_change", args=[obj.pk])).status_code == 200


def test_a_company_added_in_admin_belongs_to_the_host_s_register(admin_client, nl):
    response = admin_client.post(
        reverse("admin:licences_company_add"),
        {
            "name": "Nieuw B.V.",
            "country": "NL",
            "company_type": "advertiser",
            "employee_band": "up_to_250",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert Company.objects.get(name="Nieuw B.V.").register == nl


def test_staff_record_the_contact_telephone_in_e164_and_the_log_keeps_it(admin_client, nl):
    fields = {
        "name": "Nieuw B.V.",
        "country": "NL",
        "company_type": "advertiser",
        "employee_band": "up_to_250",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    refused = admin_client.post(
        reverse("admin:licences_company_add"),
        {**fields, "phone": "06 1234 56789"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "has one digit too many" in refused.text
    response = admin_client.post(
        reverse("admin:licences_company_add"), {**fields, "phone": "06 1234 5678"}
    )
    assert response.status_code == 302
    with scopes_disabled():
        company = Company.objects.get(name="Nieuw B.V.")
        entry = ActionLog.objects.get(action="company.created")
    assert company.phone.as_e164 == "+31612345678"
    assert entry.data["changed"]["phone"]["to"] == "+31612345678"
    assert "+31 6 12345678" in admin_client.get(reverse("admin:licences_company_changelist")).text


def test_the_cancel_action_stops_the_renewal_through_the_service(admin_client, nl):
    licence = LicenceFactory(
        company__register=nl,
        company__company_type="service_provider",
        product=get_product(nl, "service"),
        ends_on=datetime.date.today() + datetime.timedelta(days=300),
    )
    admin_client.post(
        reverse("admin:licences_licence_changelist"),
        {"action": "cancel_licences", "_selected_action": [licence.pk]},
    )
    with scopes_disabled():
        licence.refresh_from_db()
    assert (licence.status, licence.renews) == (LicenceStatus.CANCELLED, False)


def test_the_revoke_action_revokes_keys(admin_client, nl):
    api_key = ApiKeyFactory(company__register=nl)
    admin_client.post(
        reverse("admin:licences_apikey_changelist"),
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )
    with scopes_disabled():
        api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_credit_entries_cannot_be_changed_or_deleted(admin_client, nl):
    account = CreditAccountFactory(campaign__company__register=nl, balance=3)
    with scopes_disabled():
        entry = CreditEntry.objects.create(
            register=nl, account=account, delta=3, balance_after=3, reason="grant", reference="g"
        )
    url = reverse("admin:licences_creditentry_delete", args=[entry.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    with scopes_disabled():
        assert CreditEntry.objects.filter(pk=entry.pk).exists()


@pytest.fixture
def service_desk(client, nl):
    """nl staff in the service-desk group: they read licences and keys, they do not change them."""
    desk = UserFactory(is_staff=True)
    desk.groups.add(Group.objects.get(name="service desk"))
    nl.staff.add(desk)
    client.force_login(desk)
    return client


def test_reading_licences_is_not_enough_to_cancel_one(service_desk, nl):
    licence = LicenceFactory(
        company__register=nl,
        company__company_type="service_provider",
        product=get_product(nl, "service"),
        ends_on=datetime.date.today() + datetime.timedelta(days=300),
    )
    url = reverse("admin:licences_licence_changelist")
    assert service_desk.get(url, HTTP_HOST="nl.localhost").status_code == 200
    service_desk.post(
        url,
        {"action": "cancel_licences", "_selected_action": [licence.pk]},
        HTTP_HOST="nl.localhost",
    )
    with scopes_disabled():
        licence.refresh_from_db()
    assert licence.status == LicenceStatus.ACTIVE
