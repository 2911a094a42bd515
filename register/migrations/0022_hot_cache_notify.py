"""Triggers that announce every change to the tables behind register.hotcache: a statement that
inserts, updates, deletes or truncates rows there sends `NOTIFY dnc_hot_cache`, delivered at
commit to each process's listener. Only statement-level triggers: a bulk update notifies once,
not per row. An API key's `last_used_at`, written once a minute by every key in use, changes
nothing the cache holds and announces nothing."""

from django.db import migrations

TABLES = (
    "register_register",
    "register_registerhost",
    "licences_company",
    "licences_licence",
    "licences_licenceproduct",
    "campaigns_campaign",
)

FUNCTION = """
CREATE FUNCTION dnc_hot_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dnc_hot_cache', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
"""


def _trigger(table: str, events: str) -> str:
    return (
        f"CREATE TRIGGER dnc_hot_cache AFTER {events} ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION dnc_hot_cache_notify();"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("register", "0021_number_hashes_for_reports"),
        ("licences", "0009_be_french_product_names"),
        ("campaigns", "0011_reminded_at"),
    ]

    operations = [
        migrations.RunSQL(
            [FUNCTION]
            + [_trigger(table, "INSERT OR UPDATE OR DELETE OR TRUNCATE") for table in TABLES]
            + [
                _trigger(
                    "licences_apikey",
                    "INSERT OR DELETE OR TRUNCATE"
                    " OR UPDATE OF key_hash, revoked_at, company_id, register_id",
                )
            ],
            [f"DROP TRIGGER dnc_hot_cache ON {table};" for table in (*TABLES, "licences_apikey")]
            + ["DROP FUNCTION dnc_hot_cache_notify();"],
        ),
    ]
