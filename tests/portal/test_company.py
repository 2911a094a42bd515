"""Company sign-up, profile, members and the company switcher (SPEC §3, §6)."""

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from licences.middleware import SESSION_KEY
from licences.models import Company, CompanyType, EmployeeBand, Membership, Role
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, get_register
from tests.portal.conftest import client_for, member_of

pytestmark = pytest.mark.django_db

COMPANY = {
    "name": "Belcentrale Noord B.V.",
    "chamber_number": "1234 5678",
    "vat_id": "nl 123456782 b01",
    "street": "Kanaalweg 4",
    "postcode": "9711ab",
    "city": "Groningen",
    "country": "NL",
    "company_type": CompanyType.SERVICE_PROVIDER,
    "employee_band": EmployeeBand.OVER_250,
    "billing_email": "facturen@belcentrale.example",
}


def test_a_verified_user_without_company_is_sent_to_create_one(nl):
    client = client_for(UserFactory())

    response = client.get("/account/")

    assert response["Location"] == "/account/company/new/"
    assert client.get("/campaigns/")["Location"] == "/account/company/new/"


def test_creating_a_company_makes_the_user_its_owner_and_current(nl):
    user = UserFactory()
    client = client_for(user)

    response = client.post("/account/company/new/", COMPANY)

    assert response["Location"] == "/account/company/"
    with scopes_disabled():
        company = Company.objects.get()
        membership = Membership.objects.get()
    assert (company.register, company.chamber_number, company.vat_id, company.country) == (
        nl,
        "12345678",
        "NL123456782B01",
        "NL",
    )
    assert company.postcode == "9711 AB"
    assert (membership.user, membership.role) == (user, Role.OWNER)
    assert client.session[SESSION_KEY] == company.pk
    assert "Belcentrale Noord B.V." in client.get("/account/company/").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("chamber_number", "1234567", "A KvK number has 8 digits."),
        ("vat_id", "NL123456789B01", "This is not a valid VAT id"),
        ("postcode", "971 AB", "A Dutch postcode looks like 1234 AB."),
        ("country", "XX", "Select a valid choice."),
        ("name", "", "This field is required."),
    ],
)
def test_company_details_are_checked(nl, field, value, message):
    client = client_for(UserFactory())

    response = client.post("/account/company/new/", {**COMPANY, field: value})

    assert response.status_code == 200
    assert message in response.text
    with scopes_disabled():
        assert not Company.objects.exists()


def test_the_contact_telephone_is_stored_in_e164_and_shown_internationally(company, owner):
    client = client_for(owner)

    response = client.post("/account/company/edit/", {**COMPANY, "phone": "(020) 123 4567"})

    assert response["Location"] == "/account/company/"
    company.refresh_from_db()
    assert company.phone.as_e164 == "+31201234567"
    with scopes_disabled():
        assert Company.objects.filter(phone="+31201234567").exists()
    page = client.get("/account/company/").text
    assert '<a href="tel:+31-20-123-4567">+31 20 123 4567</a>' in page
    form = client.get("/account/company/edit/").text
    assert 'type="tel"' in form and 'value="+31 20 123 4567"' in form


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("020 123 45678", "“020 123 45678” has one digit too many for a telephone number"),
        ("bel ons", "“bel ons” is not a valid telephone number."),
    ],
)
def test_a_wrong_contact_telephone_is_named_precisely(company, owner, phone, message):
    response = client_for(owner).post("/account/company/edit/", {**COMPANY, "phone": phone})

    assert response.status_code == 200
    assert message in response.text
    company.refresh_from_db()
    assert company.phone == ""


def test_a_contact_telephone_may_be_a_company_number_or_abroad(company, owner):
    client = client_for(owner)
    for phone, stored in [("088 123 4567", "+31881234567"), ("+32 470 12 34 56", "+32470123456")]:
        assert client.post("/account/company/edit/", {**COMPANY, "phone": phone}).status_code == 302
        company.refresh_from_db()
        assert company.phone.as_e164 == stored


def test_anonymous_user_logs_in_first(anonymous):
    response = anonymous.get("/account/company/new/")

    assert response["Location"] == "/account/login/?next=/account/company/new/"


def test_owner_edits_the_company_and_a_member_may_not(company, owner, member):
    edit = {**COMPANY, "name": "Bakkerij De Korenschoof Holding B.V."}

    assert client_for(member).post("/account/company/edit/", edit).status_code == 404
    assert client_for(owner).post("/account/company/edit/", edit).status_code == 302

    company.refresh_from_db()
    assert company.name == "Bakkerij De Korenschoof Holding B.V."


def test_owner_adds_a_user_by_email_with_a_role(
    company, owner_client, django_capture_on_commit_callbacks
):
    colleague = UserFactory(email="piet@korenschoof.example")
    unconfirmed = UserFactory(email="unverified@korenschoof.example", email_confirmed=False)

    added = owner_client.post(
        "/account/company/members/", {"email": "Piet@Korenschoof.example", "role": "accounting"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        unverified = owner_client.post(
            "/account/company/members/",
            {"email": "unverified@korenschoof.example", "role": "member"},
        )
    again = owner_client.post(
        "/account/company/members/", {"email": "piet@korenschoof.example", "role": "member"}
    )

    assert added.status_code == 302
    with scopes_disabled():
        assert Membership.objects.get(user=colleague).role == Role.ACCOUNTING
    # An account nobody confirmed is added and mailed a link to set a password (it cannot be
    # used before: confirming needs the mailbox).
    assert unverified.status_code == 302
    with scopes_disabled():
        assert Membership.objects.get(user=unconfirmed).role == Role.MEMBER
    assert [m.to for m in mail.outbox] == [["unverified@korenschoof.example"]]
    assert "This person is already a member." in again.text


def test_a_member_sees_the_members_but_cannot_add_or_remove(company, owner, member_client):
    page = member_client.get("/account/company/members/")

    assert "owner@korenschoof.example" in page.text
    assert "Add a member" not in page.text
    assert (
        member_client.post(
            "/account/company/members/", {"email": "x@example.com", "role": "owner"}
        ).status_code
        == 404
    )
    with scopes_disabled():
        owner_membership = Membership.objects.get(user=owner)
    remove = f"/account/company/members/{owner_membership.pk}/remove/"
    assert member_client.post(remove).status_code == 404


def test_owner_removes_a_member_but_never_the_last_owner(company, owner, member, owner_client):
    with scopes_disabled():
        member_row = Membership.objects.get(user=member)
        owner_row = Membership.objects.get(user=owner)

    owner_client.post(f"/account/company/members/{member_row.pk}/remove/")
    last = owner_client.post(f"/account/company/members/{owner_row.pk}/remove/", follow=True)

    with scopes_disabled():
        assert list(Membership.objects.values_list("user__email", flat=True)) == [owner.email]
    assert "A company needs at least one owner." in last.text


def test_another_companys_membership_cannot_be_removed(company, owner_client):
    other = MembershipFactory(company=CompanyFactory(register=company.register))

    assert owner_client.post(f"/account/company/members/{other.pk}/remove/").status_code == 404
    with scopes_disabled():
        assert Membership.objects.filter(pk=other.pk).exists()


def test_switcher_changes_the_current_company_among_the_users_own(company, owner, owner_client):
    second = CompanyFactory(register=company.register, name="Zuivelhandel Zoet B.V.")
    MembershipFactory(company=second, user=owner, role=Role.MEMBER)
    stranger = CompanyFactory(register=company.register, name="Vreemd B.V.")

    before = owner_client.get("/account/company/")
    assert "<h1>Bakkerij De Korenschoof B.V.</h1>" in before.text
    assert "Zuivelhandel Zoet B.V." in before.text

    owner_client.post("/account/company/switch/", {"company": second.pk})
    assert "<h1>Zuivelhandel Zoet B.V.</h1>" in owner_client.get("/account/company/").text
    assert owner_client.get("/account/company/edit/").status_code == 404

    assert owner_client.post("/account/company/switch/", {"company": stranger.pk}).status_code == (
        404
    )
    assert owner_client.post("/account/company/switch/", {"company": "x"}).status_code == 404


def test_session_company_is_checked_against_memberships_on_every_request(company, owner):
    second = CompanyFactory(register=company.register, name="Zuivelhandel Zoet B.V.")
    membership = MembershipFactory(company=second, user=owner, role=Role.OWNER)
    client = client_for(owner)
    client.post("/account/company/switch/", {"company": second.pk})

    with scopes_disabled():
        membership.delete()

    assert "<h1>Bakkerij De Korenschoof B.V.</h1>" in client.get("/account/company/").text


def test_a_company_of_another_register_is_not_current_on_this_host(company, owner):
    be_company = CompanyFactory(register=get_register("be"), name="Belbureau Brussel BV")
    MembershipFactory(company=be_company, user=owner, role=Role.OWNER)
    client = client_for(owner)
    client.post("/account/company/switch/", {"company": be_company.pk})

    assert client.post("/account/company/switch/", {"company": be_company.pk}).status_code == 404
    assert "<h1>Bakkerij De Korenschoof B.V.</h1>" in client.get("/account/company/").text
    be_page = client_for(owner, host="be.localhost").get("/account/company/")
    assert "<h1>Belbureau Brussel BV</h1>" in be_page.text


def test_accounting_lands_on_invoices_and_sees_nothing_else(company, accountant):
    client = client_for(accountant)

    assert client.get("/account/")["Location"] == "/billing/invoices/"
    page = client.get("/billing/invoices/")
    assert page.status_code == 200
    assert 'href="/billing/shop/"' not in page.text
    assert client.get("/account/company/").status_code == 404


def test_member_of_several_companies_keeps_the_role_of_the_current_one(company):
    user = member_of(company, Role.ACCOUNTING, "both@example.com")
    second = CompanyFactory(register=company.register, name="Zuivelhandel Zoet B.V.")
    MembershipFactory(company=second, user=user, role=Role.OWNER)
    client = client_for(user)

    assert client.get("/account/company/").status_code == 404
    client.post("/account/company/switch/", {"company": second.pk})
    assert client.get("/account/company/").status_code == 200
