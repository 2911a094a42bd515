"""factory_boy factories shared by every app's tests.

Register-owned models sit behind django-scopes' ScopedManager, so the factories create rows with
scopes disabled: tests then read them inside `scope(register=...)` or `scopes_disabled()`.
Registers and the catalogue are data (migrations), so factories look them up rather than invent
them: `get_product(register, "marking-1")`.
"""

import datetime

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from campaigns.models import DEFAULT_PURPOSE, Campaign, CompanyOptOut
from licences.authentication import hash_key
from licences.models import (
    ApiKey,
    Company,
    CompanyType,
    CreditAccount,
    EmployeeBand,
    Licence,
    LicenceProduct,
    LicenceSource,
    Membership,
    Role,
)
from register.models import BlockedNumber, Channel, Register


def get_register(slug: str = "nl") -> Register:
    with scopes_disabled():
        return Register.objects.get(slug=slug)


def get_product(register: Register, code: str) -> LicenceProduct:
    with scopes_disabled():
        return LicenceProduct.objects.get(register=register, code=code)


class ScopesDisabledFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with scopes_disabled():
            return super()._create(model_class, *args, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.django.Password("password")

    @factory.post_generation
    def email_confirmed(user, create, extracted, **kwargs):
        """allauth lets an account log in once its address is confirmed: a factory user's is,
        unless `email_confirmed=False`."""
        if create and user.email and extracted is not False:
            EmailAddress.objects.get_or_create(
                user=user, email=user.email.lower(), defaults={"verified": True, "primary": True}
            )


class CompanyFactory(ScopesDisabledFactory):
    class Meta:
        model = Company

    register = factory.LazyFunction(get_register)
    name = factory.Sequence(lambda n: f"Company {n} B.V.")
    chamber_number = factory.Sequence(lambda n: f"{10000000 + n}")
    street = "Dorpsstraat 1"
    postcode = "1234 AB"
    city = "Utrecht"
    country = factory.LazyAttribute(lambda o: o.register.country)
    company_type = CompanyType.ADVERTISER
    employee_band = EmployeeBand.UP_TO_250
    billing_email = factory.Sequence(lambda n: f"billing{n}@example.com")


class MembershipFactory(ScopesDisabledFactory):
    class Meta:
        model = Membership

    company = factory.SubFactory(CompanyFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class CampaignFactory(ScopesDisabledFactory):
    class Meta:
        model = Campaign

    company = factory.SubFactory(CompanyFactory)
    register = factory.SelfAttribute("company.register")
    name = factory.Sequence(lambda n: f"Campaign {n}")
    purpose = DEFAULT_PURPOSE


class ApiKeyFactory(ScopesDisabledFactory):
    """`ApiKeyFactory(raw="dnc_test")` stores the hash of that key, so a test can send it."""

    class Meta:
        model = ApiKey
        exclude = ("raw",)

    raw = factory.Sequence(lambda n: f"dnc_test_key_{n}")
    company = factory.SubFactory(CompanyFactory)
    register = factory.SelfAttribute("company.register")
    name = factory.Sequence(lambda n: f"key {n}")
    prefix = factory.LazyAttribute(lambda o: o.raw[:8])
    key_hash = factory.LazyAttribute(lambda o: hash_key(o.raw))


class LicenceFactory(ScopesDisabledFactory):
    """A granted licence; pass `product=get_product(register, code)` of the company's register."""

    class Meta:
        model = Licence

    company = factory.SubFactory(CompanyFactory)
    register = factory.SelfAttribute("company.register")
    product = factory.LazyAttribute(lambda o: get_product(o.company.register, "upload"))
    source = LicenceSource.GRANT
    starts_on = factory.LazyFunction(datetime.date.today)
    renews = factory.SelfAttribute("product.renews")


class CreditAccountFactory(ScopesDisabledFactory):
    class Meta:
        model = CreditAccount

    campaign = factory.SubFactory(CampaignFactory)
    company = factory.SelfAttribute("campaign.company")
    register = factory.SelfAttribute("campaign.register")
    balance = 0


def register_numbers(
    register: Register, numbers: dict[int, int], *, registered_on: datetime.date
) -> None:
    """Registers each number (E.164 digits) with its category mask, as confirmed on the web."""
    with scopes_disabled():
        BlockedNumber.objects.bulk_create(
            BlockedNumber(
                register=register,
                number=number,
                categories=mask,
                registered_on=registered_on,
                channel=Channel.WEB,
            )
            for number, mask in numbers.items()
        )


def opt_out(company, *numbers: int) -> None:
    """Puts the numbers on the company's own opt-out list."""
    with scopes_disabled():
        for number in numbers:
            CompanyOptOut.objects.create(
                register=company.register, company=company, number=number, source="portal"
            )


def register_staff(register: Register, *codenames: str, email: str = "desk@infofilter.example"):
    """A staff user of `register` holding the permissions named by their codenames."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(
        username=email, email=email, password="pw-desk-2026", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    register.staff.add(user)
    return user
