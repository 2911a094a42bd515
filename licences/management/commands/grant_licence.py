"""`grant_licence --company ID --product CODE [--campaign ID] [--by EMAIL]`: a licence without
payment, recorded with source `grant` (SPEC §16) and in the action log with the person who granted
it (their account when the address has one)."""

import uuid

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope, scopes_disabled

from licences.models import Company, LicenceProduct, LicenceSource
from licences.services import licences_activate
from register.errors import DomainError


class Command(BaseCommand):
    help = "Grant a licence of the company's register's catalogue, without payment."

    def add_arguments(self, parser):
        parser.add_argument("--company", type=int, required=True, help="company id")
        parser.add_argument("--product", required=True, help="product code, e.g. marking-1")
        parser.add_argument("--campaign", type=int, help="campaign id (nl: marking, download)")
        parser.add_argument(
            "--by", default="", help="e-mail address of who grants it, for the action log"
        )

    def handle(self, *args, **options):
        with scopes_disabled():
            company = (
                Company.objects.select_related("register").filter(pk=options["company"]).first()
            )
        if company is None:
            raise CommandError(f"No company with id {options['company']}.")
        register = company.register
        by = options["by"].strip()
        granted_by = get_user_model().objects.filter(email__iexact=by).first() if by else None
        with scope(register=register):
            product = LicenceProduct.objects.filter(
                register=register, code=options["product"]
            ).first()
            if product is None:
                codes = LicenceProduct.objects.filter(register=register).values_list(
                    "code", flat=True
                )
                raise CommandError(
                    f"No product {options['product']!r} in {register.slug}; "
                    f"one of: {', '.join(codes)}."
                )
            if product.requires_campaign and options["campaign"] is None:
                raise CommandError(
                    f"{product.code} is added to a campaign in {register.slug}: give --campaign ID."
                )
            campaign = None
            if options["campaign"] is not None:
                # licences never imports campaigns (STYLE: imports point down).
                campaign = (
                    apps.get_model("campaigns", "Campaign")
                    .objects.filter(pk=options["campaign"], company=company)
                    .first()
                )
                if campaign is None:
                    raise CommandError(
                        f"Company {company.pk} has no campaign {options['campaign']}."
                    )
            try:
                licences = licences_activate(
                    company=company,
                    product=product,
                    campaign=campaign,
                    source=LicenceSource.GRANT,
                    reference=f"grant:{uuid.uuid4().hex}",
                    granted_by=granted_by,
                    actor=granted_by or by or None,
                )
            except DomainError as error:
                raise CommandError(str(error.message)) from error
        for licence in licences:
            self.stdout.write(
                f"Granted licence {licence.pk}: {product.code} to {company} "
                f"from {licence.starts_on}" + (f" to {licence.ends_on}" if licence.ends_on else "")
            )
