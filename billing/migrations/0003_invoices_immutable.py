"""Issued invoices and their lines cannot be changed or deleted by any writer (SPEC §12).

`Invoice.save()` already refuses; these triggers hold for raw SQL, other code and the shell
too. Only the delivery columns of an invoice (its PDF, when rendered, when mailed) may change.
TRUNCATE (the test database's flush) does not fire row triggers.
"""

from django.db import migrations

SQL = """
CREATE FUNCTION billing_invoice_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice % is issued and cannot be deleted', OLD.number;
    END IF;
    IF (to_jsonb(NEW) - 'pdf' - 'pdf_rendered_at' - 'mailed_at')
       IS DISTINCT FROM (to_jsonb(OLD) - 'pdf' - 'pdf_rendered_at' - 'mailed_at') THEN
        RAISE EXCEPTION 'invoice % is issued and cannot be changed', OLD.number;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_immutable
BEFORE UPDATE OR DELETE ON billing_invoice
FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();

CREATE FUNCTION billing_invoiceline_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'invoice lines are issued and cannot be changed or deleted';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_immutable
BEFORE UPDATE OR DELETE ON billing_invoiceline
FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_immutable();
"""

REVERSE_SQL = """
DROP TRIGGER billing_invoiceline_immutable ON billing_invoiceline;
DROP FUNCTION billing_invoiceline_immutable();
DROP TRIGGER billing_invoice_immutable ON billing_invoice;
DROP FUNCTION billing_invoice_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_supplier_profiles")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
