"""SPEC §3: the register comes from the host, scoping fails closed, unknown hosts get nothing."""

import pytest
from django.apps import apps
from django.db import IntegrityError, models, transaction
from django_scopes import ScopeError, scope, scopes_disabled

from register.middleware import register_for_host
from register.models import ALL_CATEGORIES, BlockedNumber, Register, RegisterHost

pytestmark = pytest.mark.django_db

OUR_APPS = ("register", "licences", "campaigns", "uploads", "complaints", "billing")
# Models with a register key that are the tenant's definition rather than its data.
NOT_SCOPED = {
    # Read to find the register (and so the scope) of a request; unique across registers.
    "register.RegisterHost",
}


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("nl.localhost", "nl"),
        ("nl.localhost:8000", "nl"),
        ("NL.LOCALHOST.", "nl"),
        ("be.localhost:8000", "be"),
        ("localhost:8000", "nl"),
        ("127.0.0.1", "nl"),
        ("fr.localhost", None),
        ("evil.example", None),
    ],
)
def test_register_is_resolved_from_the_host(host, slug):
    register = register_for_host(host)
    assert (register.slug if register else None) == slug


def test_unknown_host_is_404(client):
    assert client.get("/", HTTP_HOST="unknown.localhost").status_code == 404
    assert client.get("/admin/", HTTP_HOST="unknown.localhost").status_code == 404


def test_each_register_answers_with_its_own_name(client):
    assert "Bel-me-niet Register" in client.get("/", HTTP_HOST="nl.localhost").text
    be_page = client.get("/", HTTP_HOST="be.localhost").text
    assert "Bel Me Niet Meer" in be_page
    assert "Bel-me-niet Register" not in be_page


def tenant_owned_models():
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS or model._meta.label in NOT_SCOPED:
            continue
        keys = {
            field.name
            for field in model._meta.get_fields()
            if isinstance(field, models.ForeignKey)
            and field.related_model._meta.label in ("register.Register", "licences.Company")
        }
        if keys:
            yield model


@pytest.mark.parametrize("model", list(tenant_owned_models()), ids=lambda m: m._meta.label)
def test_every_register_or_company_owned_model_refuses_unscoped_queries(model):
    with pytest.raises(ScopeError):
        list(model._default_manager.all())
    with pytest.raises(ScopeError):
        model._default_manager.filter(pk=1).exists()


def test_scope_keeps_registers_apart(nl, be):
    with scopes_disabled():
        BlockedNumber.objects.create(
            number=31612345678, register=nl, registered_on="2024-01-01", channel="web"
        )
        BlockedNumber.objects.create(
            number=32471234567,
            register=be,
            registered_on="2024-01-01",
            channel="web",
            categories=ALL_CATEGORIES,
        )
    with scope(register=nl):
        assert list(BlockedNumber.objects.values_list("number", flat=True)) == [31612345678]
    with scope(register=be):
        assert list(BlockedNumber.objects.values_list("number", flat=True)) == [32471234567]


def test_registers_ship_as_data():
    nl = Register.objects.get(slug="nl")
    be = Register.objects.get(slug="be")
    assert nl.categories == ["commercial", "ideal", "charity"]
    assert be.categories == []
    assert (nl.calling_code, be.calling_code) == (31, 32)
    assert (nl.time_zone, be.time_zone) == ("Europe/Amsterdam", "Europe/Brussels")


@pytest.mark.parametrize(
    ("codes", "mask"),
    [
        ({"commercial", "ideal", "charity"}, ALL_CATEGORIES),
        ({"commercial"}, 0b001),
        ({"ideal", "charity"}, 0b110),
    ],
)
def test_category_masks_round_trip(nl, codes, mask):
    assert nl.category_mask(codes) == mask
    expected = nl.categories if mask == ALL_CATEGORIES else sorted(codes, key=nl.categories.index)
    assert nl.category_codes(mask) == expected


def test_a_register_without_categories_blocks_everything(be):
    assert be.category_mask([]) == ALL_CATEGORIES


@pytest.mark.parametrize(
    ("host", "language", "text"),
    [
        ("nl.localhost", "nl", "Pagina niet gevonden"),
        ("be.localhost", "en", "Page not found"),
        ("unknown.localhost", "nl", "Pagina niet gevonden"),
    ],
)
def test_a_missing_page_is_a_404_page_in_the_visitors_language(client, host, language, text):
    response = client.get("/no-such-page/", HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert text in response.text


def test_two_registers_cannot_claim_one_host_name(be):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisterHost.objects.create(register=be, hostname="nl.localhost")


def test_host_names_are_stored_in_lower_case(be):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisterHost.objects.create(register=be, hostname="Be.Example")


def test_a_register_has_one_primary_host_name(be):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisterHost.objects.create(register=be, hostname="be.example", primary=True)


def test_the_primary_host_name_comes_first(be):
    RegisterHost.objects.create(register=be, hostname="a.example")
    assert be.hostnames == ["be.localhost", "a.example"]
    assert register_for_host("A.EXAMPLE:8000") == be
