"""COPY … TO STDOUT at the speed PostgreSQL sends it, for the bulk paths (import, downloads)."""

from collections.abc import Callable

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import pq


def copy_out(
    statement: str,
    params,
    write: Callable[[bytearray], object],
    *,
    block_bytes: int,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Runs `statement` (a COPY … TO STDOUT, with `params`) on Django's connection `using` and hands
    what it sends to `write` in blocks of at least `block_bytes`; returns the rows copied.

    Read straight from libpq: PostgreSQL sends a message per row, and psycopg's Copy iterator
    costs about a microsecond each, which doubled psql's time for ten million rows. `write`
    must be done with a block when it returns: the block is reused.
    """
    connection = connections[using]
    connection.ensure_connection()
    with psycopg.ClientCursor(connection.connection) as cursor:
        statement = cursor.mogrify(statement, params)
    pgconn = connection.connection.pgconn
    result = pgconn.exec_(statement.encode())
    if result.status != pq.ExecStatus.COPY_OUT:
        raise psycopg.DatabaseError(result.get_error_message())
    read = pgconn.get_copy_data
    buffer = bytearray()
    try:
        while True:
            length, data = read(0)
            if length < 0:
                break
            buffer += data
            if len(buffer) >= block_bytes:
                write(buffer)
                buffer.clear()
        if buffer:
            write(buffer)
    except BaseException:
        # `write` failed (a full disk) with the COPY still streaming: the rest is read and
        # dropped, so the connection is ready for the rollback and the `failed` update that
        # follow. A connection that broke itself raises here, and the caller's fresh one writes.
        _drain(pgconn)
        raise
    result = pgconn.get_result()
    # The end of the statement's results: the connection is ready for the next one.
    while pgconn.get_result() is not None:
        pass
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise psycopg.DatabaseError(result.get_error_message())
    return int(result.command_status.split()[-1])


def _drain(pgconn) -> None:
    try:
        while pgconn.get_copy_data(0)[0] >= 0:
            pass
        while pgconn.get_result() is not None:
            pass
    except psycopg.Error:
        pass
