"""`create_staff_api_key --register R --user EMAIL [--name N] [--by EMAIL]`: a key for the
operator's IVR (SPEC §5), acting as a staff user of the register with the `ivr` role; prints
the key, shown only this once, as the last line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from register.desk import staff_api_key_create
from register.errors import DomainError
from register.models import Register


class Command(BaseCommand):
    help = "Create an API key for the IVR of a register; the key is the last line of the output."

    def add_arguments(self, parser):
        parser.add_argument("--register", required=True, help="the register's slug")
        parser.add_argument(
            "--user", required=True, help="e-mail of a staff user of the register in role ivr"
        )
        parser.add_argument("--name", default="IVR")
        parser.add_argument(
            "--by", default="", help="e-mail address of who makes it, for the action log"
        )

    def handle(self, *args, **options):
        register = Register.objects.filter(slug=options["register"]).first()
        if register is None:
            raise CommandError(f"No register {options['register']!r}.")
        user = get_user_model().objects.filter(email__iexact=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        with scope(register=register):
            try:
                staff_key, raw = staff_api_key_create(
                    register=register,
                    user=user,
                    name=options["name"],
                    permission="register.register_by_ivr",
                    actor=options["by"].strip() or None,
                )
            except DomainError as error:
                raise CommandError(str(error.message)) from error
        self.stdout.write(f"Staff API key {staff_key.name!r} for {user.email} ({register.slug}):")
        self.stdout.write(raw)
