"""A case's timeline is append-only (SPEC §14: prove who did what when).

`CaseEvent` rows are only ever inserted by the services; this trigger holds for raw SQL, other
code and the shell too. TRUNCATE (the test database's flush) does not fire row triggers.
"""

from django.db import migrations

SQL = """
CREATE FUNCTION complaints_caseevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'case events are append-only and cannot be changed or deleted';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER complaints_caseevent_append_only
BEFORE UPDATE OR DELETE ON complaints_caseevent
FOR EACH ROW EXECUTE FUNCTION complaints_caseevent_append_only();
"""

REVERSE_SQL = """
DROP TRIGGER complaints_caseevent_append_only ON complaints_caseevent;
DROP FUNCTION complaints_caseevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_cases")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
