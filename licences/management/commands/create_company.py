"""`create_company --register R --name N --owner-email E [--type T] [--employees N]` (SPEC §16).

A new owner is e-mailed an invitation: a link to set a password, valid for 72 hours."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction
from django_scopes import scope

from licences.accounts import portal_base_url, user_get_or_invite
from licences.models import CompanyType, EmployeeBand
from licences.services import company_create
from register.errors import DomainError
from register.models import Register


class Command(BaseCommand):
    help = (
        "Create a company with an owner (a new user, invited by mail, when the e-mail is new); "
        "prints JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--register", required=True, help="register slug, e.g. nl")
        parser.add_argument("--name", required=True, help="legal name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--type", choices=CompanyType.values, default=CompanyType.ADVERTISER)
        parser.add_argument("--employees", type=int, default=1, help="number of employees")

    def handle(self, *args, **options):
        try:
            register = Register.objects.get(slug=options["register"])
        except Register.DoesNotExist as error:
            raise CommandError(f"No register {options['register']!r}.") from error
        email = options["owner_email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError as error:
            raise CommandError(f"Not an e-mail address: {email!r}.") from error
        if options["employees"] < 1:
            raise CommandError("--employees must be at least 1.")
        with transaction.atomic(), scope(register=register):
            # A new owner has no password (none exists to leak) and is mailed a link to set one,
            # once the company exists: a refused company mails nobody.
            owner, _invited = user_get_or_invite(
                register=register,
                email=email,
                language=register.default_language,
                base_url=portal_base_url(register),
            )
            try:
                company = company_create(
                    register=register,
                    name=options["name"],
                    owner=owner,
                    company_type=options["type"],
                    employee_band=EmployeeBand.for_count(options["employees"]),
                )
            except DomainError as error:
                raise CommandError(str(error.message)) from error
        self.stdout.write(
            json.dumps({"id": company.pk, "name": company.name, "register": register.slug})
        )
