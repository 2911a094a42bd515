"""Writing the register out (SPEC §16 `export_register`), straight from PostgreSQL's COPY."""

from typing import BinaryIO

from django.db import connection

from register.models import ALL_CATEGORIES, Register


def register_export(*, register: Register, sink: BinaryIO) -> int:
    """Write the register as `number;registered_on;categories` lines in number order.

    Categories are written as codes even when a number blocks them all: a licensee reading the
    file should not have to know that an empty field means everything, and importing the full
    list of codes gives back the all-categories registration.
    """
    codes = register.categories
    # Every mask a registration can hold; registers have a handful of categories.
    masks = [ALL_CATEGORIES, *range(1, 1 << len(codes))]
    labels = [",".join(register.category_codes(mask)) for mask in masks]
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(
            """
            COPY (
                SELECT b.number, b.registered_on, NULLIF(m.codes, '')
                FROM register_blockednumber b
                LEFT JOIN unnest(%s::smallint[], %s::text[]) AS m(mask, codes)
                    ON m.mask = b.categories
                WHERE b.register_id = %s
                ORDER BY b.number
            ) TO STDOUT (FORMAT csv, DELIMITER ';')
            """,
            [masks, labels, register.pk],
        ) as copy:
            for data in copy:
                sink.write(data)
        return cursor.rowcount
