"""Demo data for `make run`: loaded only into an empty database, never over real data (SPEC §18).

It goes through the same services as real use: the register import for numbers, the company and
licence services for companies, so the demo shows what the code does rather than what a fixture
says.
"""

import io
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scope, scopes_disabled

from campaigns.services import campaign_create
from licences.accounts import email_confirm
from licences.models import CompanyType, EmployeeBand, LicenceProduct, LicenceSource
from licences.services import api_key_create, company_create, licences_activate
from register.bulk import register_import
from register.models import BlockedNumber, Register
from register.roles import COMPLAINTS, SERVICE_DESK

# Development logins, printed by the command; a production database is never empty, so they
# never reach one.
ADMIN = ("admin@example.com", "demo-admin-2026")
STAFF_NL = ("staff-nl@example.com", "demo-staff-2026")
COMPANY_OWNER = ("demo@example.com", "demo-company-2026")

# National significant numbers: a prefix and how many random subscriber digits follow.
NUMBER_SHAPES = {
    "NL": [("6", 8), ("20", 7), ("10", 7), ("30", 7)],
    "BE": [("47", 7), ("48", 7), ("2", 7), ("9", 7)],
}


def demo_register_file(register: Register, count: int, rng: random.Random) -> io.StringIO:
    lines = []
    subsets = [[], ["commercial"], ["commercial", "ideal"], ["charity"]]
    for _ in range(count):
        prefix, width = rng.choice(NUMBER_SHAPES[register.country])
        digits = f"{prefix}{rng.randrange(10**width):0{width}d}"
        year, month, day = rng.randint(2009, 2026), rng.randint(1, 12), rng.randint(1, 28)
        line = f"{register.calling_code}{digits};{year}-{month:02d}-{day:02d}"
        if register.has_categories:
            line += ";" + ",".join(rng.choice(subsets))
        lines.append(line)
    return io.StringIO("\n".join(lines) + "\n")


class Command(BaseCommand):
    help = "Load demo registrations, users and companies into an empty database."

    def handle(self, *args, **options):
        user_model = get_user_model()
        with scopes_disabled():
            if user_model.objects.exists() or BlockedNumber.objects.exists():
                self.stdout.write("The database holds data already: no demo data loaded.")
                return
            registers = {register.slug: register for register in Register.objects.all()}
        rng = random.Random(2026)  # noqa: S311 - repeatable demo numbers, not a secret
        with transaction.atomic():
            admin = user_model.objects.create_superuser(
                username=ADMIN[0], email=ADMIN[0], password=ADMIN[1]
            )
            staff = user_model.objects.create_user(
                username=STAFF_NL[0], email=STAFF_NL[0], password=STAFF_NL[1], is_staff=True
            )
            owner = user_model.objects.create_user(
                username=COMPANY_OWNER[0], email=COMPANY_OWNER[0], password=COMPANY_OWNER[1]
            )
            # The demo logins are known addresses: no code to confirm them on first login.
            for user in (admin, staff, owner):
                email_confirm(user=user)
            for register in registers.values():
                register.staff.add(admin)
            if "nl" in registers:
                registers["nl"].staff.add(staff)
                staff.groups.add(*Group.objects.filter(name__in=[SERVICE_DESK, COMPLAINTS]))
            for register in registers.values():
                if register.country in NUMBER_SHAPES:
                    report = register_import(
                        register=register, source=demo_register_file(register, 500, rng)
                    )
                    self.stdout.write(f"{register.slug}: {report.loaded} demo numbers registered")
            keys = []
            if "nl" in registers:
                keys.append(self.demo_company_nl(registers["nl"], owner, admin))
            if "be" in registers:
                keys.append(self.demo_company_be(registers["be"], owner, admin))
        self.stdout.write(
            self.style.SUCCESS("Demo data loaded. Development logins (never use in production):")
        )
        self.stdout.write(f"  staff admin, all registers: {ADMIN[0]} / {ADMIN[1]}")
        self.stdout.write(f"  staff of nl:                {STAFF_NL[0]} / {STAFF_NL[1]}")
        self.stdout.write(f"  company user (nl and be):   {COMPANY_OWNER[0]} / {COMPANY_OWNER[1]}")
        for slug, key in keys:
            self.stdout.write(f"  API key of the {slug} demo company: {key}")

    def demo_company_nl(self, register, owner, admin):
        with scope(register=register):
            company = company_create(
                register=register,
                name="Demo Telemarketing B.V.",
                owner=owner,
                company_type=CompanyType.ADVERTISER,
                employee_band=EmployeeBand.UP_TO_250,
                chamber_number="12345678",
                vat_id="NL123456782B01",
                street="Voorbeeldstraat 1",
                postcode="1234 AB",
                city="Amsterdam",
                phone="+31201234567",
            )
            campaign = campaign_create(
                company=company, name="Voorjaarsactie 2026", purpose="commercial", created_by=owner
            )
            licences_activate(
                company=company,
                product=LicenceProduct.objects.get(code="marking-1"),
                campaign=campaign,
                source=LicenceSource.GRANT,
                reference="demo:marking-1",
                granted_by=admin,
            )
            _key, raw = api_key_create(company=company, name="demo", created_by=owner)
        return register.slug, raw

    def demo_company_be(self, register, owner, admin):
        with scope(register=register):
            company = company_create(
                register=register,
                name="Demo Marketing NV",
                owner=owner,
                company_type=CompanyType.ADVERTISER,
                employee_band=EmployeeBand.UP_TO_250,
                chamber_number="0123.456.749",
                vat_id="BE0123456749",
                street="Voorbeeldlaan 2",
                postcode="1000",
                city="Brussel",
                phone="+3225551212",
            )
            licences_activate(
                company=company,
                product=LicenceProduct.objects.get(code="advertiser-small"),
                source=LicenceSource.GRANT,
                reference="demo:advertiser-small",
                granted_by=admin,
            )
            _key, raw = api_key_create(company=company, name="demo", created_by=owner)
        return register.slug, raw
