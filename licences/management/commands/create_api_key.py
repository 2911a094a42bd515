"""`create_api_key --company ID [--name N] [--by EMAIL]`: prints the key, shown only this once
(SPEC §16); the action log names `--by` as who made it."""

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope, scopes_disabled

from licences.models import Company
from licences.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a company; the key is the last line of the output."

    def add_arguments(self, parser):
        parser.add_argument("--company", type=int, required=True, help="company id")
        parser.add_argument("--name", default="command line")
        parser.add_argument(
            "--by", default="", help="e-mail address of who makes it, for the action log"
        )

    def handle(self, *args, **options):
        with scopes_disabled():
            company = (
                Company.objects.select_related("register").filter(pk=options["company"]).first()
            )
        if company is None:
            raise CommandError(f"No company with id {options['company']}.")
        with scope(register=company.register):
            api_key, raw = api_key_create(
                company=company, name=options["name"], actor=options["by"].strip() or None
            )
        self.stdout.write(f"API key {api_key.name!r} for {company} ({company.register.slug}):")
        self.stdout.write(raw)
