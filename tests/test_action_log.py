"""The action log in one place (SPEC §17, STYLE 15, issue 10 item 7): every staff and money
action, taken through its real entry point, writes exactly one entry naming who did what to
which object, with the data an inspector needs and no secret; the entry shows on the object's
admin page and in the period export."""

import datetime
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from billing.admin import InvoiceAdmin
from billing.models import Invoice
from billing.services import order_create, payment_start, payment_sync
from complaints import services as complaints
from complaints.admin import CaseAdmin
from complaints.models import CaseKind
from licences.admin import ApiKeyAdmin, CompanyAdmin, LicenceAdmin
from licences.forms import CompanyForm
from licences.models import ApiKey, Company, Licence, LicenceSource, Membership, Role
from licences.services import membership_add
from register.admin import BlockedNumberAdmin
from register.audit import SYSTEM
from register.audit_admin import ActionLogInline
from register.models import ActionLog, BlockedNumber, Channel
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    LicenceFactory,
    MembershipFactory,
    UserFactory,
    get_product,
)
from uploads.admin import RegistrationFileAdmin

pytestmark = pytest.mark.django_db

HOST = "nl.localhost"
PORTAL = f"http://{HOST}:8000"


@pytest.fixture(autouse=True)
def _files(media_root, fresh_rate_limits):
    """Invoice, letter and attachment files go to a temporary folder; no rate limit is used."""


@dataclass
class World:
    """A service provider in nl with its owner, the nl service desk, and their browsers."""

    nl: object
    company: Company
    owner: object
    desk: object
    portal: Client
    admin: Client
    request: pytest.FixtureRequest


@pytest.fixture
def world(nl, request) -> World:
    company = CompanyFactory(
        register=nl,
        name="Belcentrale Noord B.V.",
        company_type="service_provider",
        chamber_number="12345678",
        city="Utrecht",
        billing_email="facturen@belcentrale.example",
    )
    owner = UserFactory(email="owner@belcentrale.example")
    MembershipFactory(company=company, user=owner, role=Role.OWNER)
    desk = UserFactory(email="desk@register.example", is_staff=True, is_superuser=True)
    nl.staff.add(desk)
    portal = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en")
    portal.force_login(owner)
    admin = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(desk)
    return World(nl, company, owner, desk, portal, admin, request)


@dataclass
class Done:
    """What the one new entry must say."""

    action: str
    actor: str
    target: models.Model
    data: dict


def renewing_licence(w: World) -> Licence:
    return LicenceFactory(
        company=w.company,
        product=get_product(w.nl, "service"),
        ends_on=datetime.date.today() + datetime.timedelta(days=300),
    )


def unpaid_marking_order(w: World):
    """An order of marking-1 (€175 excl. VAT) by the owner, its payment started at the fake
    Mollie: the caller sets it paid."""
    fake_mollie = w.request.getfixturevalue("fake_mollie")
    campaign = CampaignFactory(company=w.company)
    with scope(register=w.nl):
        order = order_create(
            company=w.company,
            lines=[{"product": "marking-1", "quantity": 1, "campaign": campaign}],
            created_by=w.owner,
        )
        payment = payment_start(order=order, base_url=PORTAL, return_url=f"{PORTAL}/")
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
    return order, payment, fake_mollie


def only(model, **lookups):
    with scopes_disabled():
        return model.objects.get(**lookups)


# Each row sets up what its action needs and returns the action, run by the test: one function
# per action and entry point.


def licence_granted_by_command(w: World) -> Callable[[], Done]:
    def act():
        call_command(
            "grant_licence",
            company=w.company.pk,
            product="service",
            by=w.desk.email,
            stdout=io.StringIO(),
        )
        licence = only(Licence, company=w.company, source=LicenceSource.GRANT)
        assert licence.granted_by == w.desk
        return Done(
            "licence.granted", w.desk.email, licence, {"product": "service", "source": "grant"}
        )

    return act


def licence_activated_by_payment_webhook(w: World) -> Callable[[], Done]:
    order, payment, fake_mollie = unpaid_marking_order(w)
    webhook = urlsplit(fake_mollie.store.get(payment.provider_id).webhook_url).path

    def act():
        assert w.admin.post(webhook, {"id": payment.provider_id}).status_code == 200
        licence = only(Licence, company=w.company, source=LicenceSource.ORDER)
        # The payment provider reported it: the system acted, for the user who ordered.
        return Done(
            "licence.activated",
            SYSTEM,
            licence,
            {
                "order": order.pk,
                "ordered_by": w.owner.email,
                "amount_excl_vat": "175.00",
                "payment": payment.provider_id,
                "product": "marking-1",
            },
        )

    return act


def licence_cancelled_in_portal(w: World) -> Callable[[], Done]:
    licence = renewing_licence(w)

    def act():
        assert w.portal.post(f"/account/licences/{licence.pk}/cancel/").status_code == 302
        return Done(
            "licence.cancelled",
            w.owner.email,
            licence,
            {"product": "service", "ends_on": licence.ends_on.isoformat()},
        )

    return act


def licence_cancelled_in_admin(w: World) -> Callable[[], Done]:
    licence = renewing_licence(w)

    def act():
        w.admin.post(
            "/admin/licences/licence/",
            {"action": "cancel_licences", "_selected_action": [licence.pk]},
        )
        return Done("licence.cancelled", w.desk.email, licence, {"product": "service"})

    return act


def api_key_created_in_portal(w: World) -> Callable[[], Done]:
    def act():
        assert w.portal.post("/account/api-keys/", {"name": "CRM productie"}).status_code == 302
        api_key = only(ApiKey, name="CRM productie")
        return Done("api_key.created", w.owner.email, api_key, {"name": "CRM productie"})

    return act


def api_key_created_by_command(w: World) -> Callable[[], Done]:
    def act():
        call_command(
            "create_api_key",
            company=w.company.pk,
            name="scripts",
            by="ops@register.example",
            stdout=io.StringIO(),
        )
        api_key = only(ApiKey, name="scripts")
        return Done("api_key.created", "ops@register.example", api_key, {"name": "scripts"})

    return act


def api_key_revoked_in_portal(w: World) -> Callable[[], Done]:
    api_key = ApiKeyFactory(company=w.company, name="oud")

    def act():
        assert w.portal.post(f"/account/api-keys/{api_key.pk}/revoke/").status_code == 302
        return Done("api_key.revoked", w.owner.email, api_key, {"name": "oud"})

    return act


def api_key_revoked_in_admin(w: World) -> Callable[[], Done]:
    api_key = ApiKeyFactory(company=w.company, name="lek")

    def act():
        w.admin.post(
            "/admin/licences/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]}
        )
        return Done("api_key.revoked", w.desk.email, api_key, {"name": "lek"})

    return act


def company_created_in_portal(w: World) -> Callable[[], Done]:
    founder = UserFactory(email="founder@zuid.example")
    portal = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en")
    portal.force_login(founder)
    details = {
        "name": "Belcentrale Zuid B.V.",
        "chamber_number": "87654321",
        "street": "Markt 1",
        "postcode": "5611 AA",
        "city": "Eindhoven",
        "country": "NL",
        "company_type": "advertiser",
        "employee_band": "up_to_250",
        "billing_email": "facturen@zuid.example",
    }

    def act():
        assert portal.post("/account/company/new/", details).status_code == 302
        company = only(Company, name="Belcentrale Zuid B.V.")
        return Done(
            "company.created",
            founder.email,
            company,
            {"name": "Belcentrale Zuid B.V.", "owner": founder.email},
        )

    return act


# What an owner edits in the portal, and staff in the admin.
COMPANY_DETAILS = CompanyForm._meta.fields


def company_changed_in_portal(w: World) -> Callable[[], Done]:
    details = {field: getattr(w.company, field) for field in COMPANY_DETAILS}

    def act():
        response = w.portal.post("/account/company/edit/", {**details, "city": "Groningen"})
        assert response.status_code == 302
        return Done(
            "company.changed",
            w.owner.email,
            w.company,
            {"changed": {"city": {"from": "Utrecht", "to": "Groningen"}}},
        )

    return act


def company_admin_form(w: World, *more_members: dict) -> dict:
    """The company's admin change form as it comes, its owner's row and `more_members` rows."""
    owner = only(Membership, company=w.company, user=w.owner)
    rows = [{"id": owner.pk, "user": w.owner.pk, "role": Role.OWNER}, *more_members]
    form = {
        **{field: getattr(w.company, field) for field in COMPANY_DETAILS},
        "memberships-TOTAL_FORMS": len(rows),
        "memberships-INITIAL_FORMS": sum(1 for row in rows if "id" in row),
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for position, row in enumerate(rows):
        form.update({f"memberships-{position}-{key}": value for key, value in row.items()})
        form[f"memberships-{position}-company"] = w.company.pk
    return form


def company_changed_in_admin(w: World) -> Callable[[], Done]:
    url = f"/admin/licences/company/{w.company.pk}/change/"

    def act():
        response = w.admin.post(url, {**company_admin_form(w), "city": "Groningen"})
        assert response.status_code == 302
        return Done(
            "company.changed",
            w.desk.email,
            w.company,
            {"changed": {"city": {"from": "Utrecht", "to": "Groningen"}}},
        )

    return act


def member_added_in_admin(w: World) -> Callable[[], Done]:
    newcomer = UserFactory(email="newcomer@belcentrale.example")
    url = f"/admin/licences/company/{w.company.pk}/change/"

    def act():
        form = company_admin_form(w, {"user": newcomer.pk, "role": Role.MEMBER})
        assert w.admin.post(url, form).status_code == 302
        return Done(
            "member.added", w.desk.email, w.company, {"email": newcomer.email, "role": "member"}
        )

    return act


def existing_member_changed_in_admin(
    w: World, email: str, change: dict, action: str, data: dict
) -> Callable[[], Done]:
    user = UserFactory(email=email)
    membership = MembershipFactory(company=w.company, user=user, role=Role.MEMBER)
    url = f"/admin/licences/company/{w.company.pk}/change/"

    def act():
        row = {"id": membership.pk, "user": user.pk, "role": Role.MEMBER, **change}
        assert w.admin.post(url, company_admin_form(w, row)).status_code == 302
        return Done(action, w.desk.email, w.company, {"email": email, **data})

    return act


def member_role_changed_in_admin(w: World) -> Callable[[], Done]:
    return existing_member_changed_in_admin(
        w,
        "clerk@belcentrale.example",
        {"role": Role.ACCOUNTING},
        "member.role_changed",
        {"from": "member", "to": "accounting"},
    )


def member_removed_in_admin(w: World) -> Callable[[], Done]:
    return existing_member_changed_in_admin(
        w, "leaver@belcentrale.example", {"DELETE": "on"}, "member.removed", {"role": "member"}
    )


def member_added_in_portal(w: World) -> Callable[[], Done]:
    def act():
        response = w.portal.post(
            "/account/company/members/", {"email": "new@belcentrale.example", "role": Role.MEMBER}
        )
        assert response.status_code == 302
        return Done(
            "member.added",
            w.owner.email,
            w.company,
            {"email": "new@belcentrale.example", "role": Role.MEMBER},
        )

    return act


def member_removed_in_portal(w: World) -> Callable[[], Done]:
    leaver = UserFactory(email="leaver@belcentrale.example")
    membership = MembershipFactory(company=w.company, user=leaver, role=Role.MEMBER)

    def act():
        w.portal.post(f"/account/company/members/{membership.pk}/remove/")
        return Done(
            "member.removed", w.owner.email, w.company, {"email": leaver.email, "role": "member"}
        )

    return act


def member_role_changed_by_service(w: World) -> Callable[[], Done]:
    # The portal adds new members only; a role changes through the service (its entry point).
    clerk = UserFactory(email="clerk@belcentrale.example")
    MembershipFactory(company=w.company, user=clerk, role=Role.MEMBER)

    def act():
        with scope(register=w.nl):
            membership_add(company=w.company, user=clerk, role=Role.ACCOUNTING, actor=w.owner)
        return Done(
            "member.role_changed",
            w.owner.email,
            w.company,
            {"email": clerk.email, "from": Role.MEMBER, "to": Role.ACCOUNTING},
        )

    return act


def number_unblocked_in_admin(w: World) -> Callable[[], Done]:
    with scopes_disabled():
        BlockedNumber.objects.create(
            number=31612345678, register=w.nl, registered_on="2020-01-01", channel=Channel.PHONE
        )

    def act():
        response = w.admin.post(
            "/admin/register/blockednumber/",
            {"action": "unblock", "_selected_action": ["31612345678"]},
        )
        assert response.status_code == 302
        return Done(
            "number.unblocked",
            w.desk.email,
            BlockedNumber(number=31612345678),
            {"unblocked_together": 1},
        )

    return act


def case_step_in_admin(w: World) -> Callable[[], Done]:
    with scope(register=w.nl):
        case = complaints.case_file(
            register=w.nl,
            kind=CaseKind.REQUEST,
            subject="Still called",
            body="A company keeps calling me.",
            filer_email="jan@example.com",
            channel="portal",
            language="en",
        )

    def act():
        response = w.admin.post(
            f"/admin/complaints/case/{case.pk}/step/decide/", {"motivation": "No consent."}
        )
        assert response.status_code == 302
        return Done("case.step", w.desk.email, case, {"step": "decide"})

    return act


def credit_note_issued_in_admin(w: World) -> Callable[[], Done]:
    order, payment, _fake = unpaid_marking_order(w)
    with scope(register=w.nl):
        payment_sync(payment_id=payment.provider_id)
    invoice = only(Invoice, order=order)

    def act():
        w.admin.post(
            "/admin/billing/invoice/",
            {
                "action": "issue_credit_notes",
                "_selected_action": [invoice.pk],
                "apply": "1",
                "reason": "Ordered twice",
            },
        )
        credit_note = only(Invoice, corrects=invoice)
        return Done(
            "credit_note.issued",
            w.desk.email,
            credit_note,
            {
                "invoice": invoice.number,
                "number": credit_note.number,
                "total_incl_vat": str(-invoice.total_incl_vat),
                "reason": "Ordered twice",
            },
        )

    return act


ROWS = [
    licence_granted_by_command,
    licence_activated_by_payment_webhook,
    licence_cancelled_in_portal,
    licence_cancelled_in_admin,
    api_key_created_in_portal,
    api_key_created_by_command,
    api_key_revoked_in_portal,
    api_key_revoked_in_admin,
    company_created_in_portal,
    company_changed_in_portal,
    company_changed_in_admin,
    member_added_in_portal,
    member_added_in_admin,
    member_removed_in_portal,
    member_removed_in_admin,
    member_role_changed_by_service,
    member_role_changed_in_admin,
    number_unblocked_in_admin,
    case_step_in_admin,
    credit_note_issued_in_admin,
]


def last_entry_id() -> int:
    with scopes_disabled():
        return ActionLog.objects.aggregate(last=models.Max("pk"))["last"] or 0


@pytest.mark.parametrize("row", ROWS, ids=[row.__name__ for row in ROWS])
def test_each_staff_and_money_action_writes_one_entry_naming_who_what_and_which(world, row):
    act = row(world)
    before = last_entry_id()

    done = act()

    with scopes_disabled():
        entries = list(ActionLog.objects.filter(pk__gt=before).select_related("content_type"))
    assert len(entries) == 1, [entry.action for entry in entries]
    entry = entries[0]
    assert (entry.register_id, entry.action, entry.actor_label) == (
        world.nl.pk,
        done.action,
        done.actor,
    )
    assert (entry.content_type.model_class(), entry.object_id) == (
        type(done.target),
        str(done.target.pk),
    )
    assert {key: entry.data.get(key) for key in done.data} == done.data
    # Never a secret: no key material, no password.
    logged = json.dumps(entry.data).lower()
    assert "dnc_" not in logged and "password" not in logged


def test_an_entry_shows_on_its_objects_admin_page_and_in_the_period_export(world):
    licence = renewing_licence(world)
    world.admin.post(
        "/admin/licences/licence/", {"action": "cancel_licences", "_selected_action": [licence.pk]}
    )

    page = world.admin.get(f"/admin/licences/licence/{licence.pk}/change/")
    today = timezone.localdate()
    export = world.admin.get("/admin/register/actionlog/export/", {"start": today, "end": today})

    assert page.status_code == 200
    assert "licence.cancelled" in page.text and world.desk.email in page.text
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert any(
        "licence.cancelled" in line and world.desk.email in line and f";{licence.pk};" in line
        for line in lines[1:]
    )


@pytest.mark.parametrize(
    "model_admin",
    [CompanyAdmin, LicenceAdmin, ApiKeyAdmin, InvoiceAdmin, CaseAdmin, BlockedNumberAdmin,
     RegistrationFileAdmin],
    ids=lambda model_admin: model_admin.__name__,
)  # fmt: skip
def test_the_admin_of_each_logged_object_shows_its_log(model_admin):
    assert ActionLogInline in model_admin.inlines
