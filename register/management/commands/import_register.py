"""`manage.py import_register --register nl FILE`: load a register file (SPEC §5, §16)."""

import getpass
from contextlib import nullcontext
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from register.bulk import ImportFileError, SkipReason, register_import
from register.models import Register


class Command(BaseCommand):
    help = _(
        "Load number[;registered_on[;categories]] lines into a register, all or nothing, and "
        "report the lines skipped and why."
    )

    def add_arguments(self, parser):
        parser.add_argument("--register", required=True, help=_("The register's slug, e.g. nl."))
        parser.add_argument("file", help=_("The file to load (UTF-8)."))
        parser.add_argument("--report", help=_("Write every skipped line as line;reason here."))
        parser.add_argument(
            "--by",
            default=getpass.getuser(),
            help=_("Who imports, for the register's history (default: the system user)."),
        )

    def handle(self, *args, register, file, report, by, **options):
        try:
            target = Register.objects.get(slug=register)
        except Register.DoesNotExist:
            raise CommandError(_("There is no register %(slug)r.") % {"slug": register}) from None
        try:
            with open(file, "rb") as source, _report_file(report) as report_file:
                result = register_import(
                    register=target,
                    source=source,
                    report=report_file,
                    imported_by=by,
                    file_name=Path(file).name,
                )
        except OSError as error:
            raise CommandError(str(error)) from error
        except ImportFileError as error:
            raise CommandError(error.message) from error
        self.stdout.write(_("Loaded: %(count)d") % {"count": result.loaded})
        self.stdout.write(_("Skipped: %(count)d") % {"count": result.skipped_total})
        for reason in SkipReason:
            if result.skipped[reason]:
                self.stdout.write(f"  {reason.label}: {result.skipped[reason]}")
        if result.first_skipped:
            self.stdout.write(_("First skipped lines:"))
        for skip in result.first_skipped:
            self.stdout.write(
                _("  line %(line)d: %(reason)s: %(text)s")
                % {"line": skip.line, "reason": skip.reason.label, "text": skip.text}
            )


def _report_file(path: str | None):
    return open(path, "w", encoding="utf-8") if path else nullcontext()
