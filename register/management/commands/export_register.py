"""`manage.py export_register --register nl [FILE|-]`: the register as a re-importable file."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from register.bulk import register_export
from register.models import Register


class _TextSink:
    """Bytes to a management command's text output (`-` under call_command in tests)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, data: bytes | memoryview) -> None:
        self.stream.write(str(data, "utf-8"), ending="")


class Command(BaseCommand):
    help = _("Write a register as number;registered_on;categories lines in number order.")

    def add_arguments(self, parser):
        parser.add_argument("--register", required=True, help=_("The register's slug, e.g. nl."))
        parser.add_argument("file", nargs="?", default="-", help=_("Output file; - for stdout."))

    def handle(self, *args, register, file, **options):
        try:
            source = Register.objects.get(slug=register)
        except Register.DoesNotExist:
            raise CommandError(_("There is no register %(slug)r.") % {"slug": register}) from None
        if file != "-":
            try:
                with open(file, "wb") as sink:
                    rows = register_export(register=source, sink=sink)
            except OSError as error:
                raise CommandError(str(error)) from error
            self.stderr.write(_("Exported: %(count)d") % {"count": rows})
        elif self.stdout._out is sys.stdout:
            register_export(register=source, sink=sys.stdout.buffer)
        else:
            register_export(register=source, sink=_TextSink(self.stdout))
