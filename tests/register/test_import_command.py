"""`manage.py import_register` records who loaded which file in the register's history."""

import getpass
import io

from django.core.management import call_command
from django_scopes import scopes_disabled

from register.models import RegisterImport


def test_import_command_records_the_file_name_and_the_system_user(nl, tmp_path):
    path = tmp_path / "bel-me-niet-2026.txt"
    path.write_text("31612345678;2019-03-04\n")

    call_command("import_register", "--register", "nl", str(path), stdout=io.StringIO())

    with scopes_disabled():
        record = RegisterImport.objects.get(register=nl)
    assert (record.file_name, record.imported_by, record.loaded) == (
        "bel-me-niet-2026.txt",
        getpass.getuser(),
        1,
    )


def test_import_command_records_whom_the_operator_names(nl, tmp_path):
    path = tmp_path / "register.txt"
    path.write_text("31612345678\n")

    call_command(
        "import_register", "--register", "nl", str(path), "--by", "j.jansen", stdout=io.StringIO()
    )

    with scopes_disabled():
        assert RegisterImport.objects.get(register=nl).imported_by == "j.jansen"
