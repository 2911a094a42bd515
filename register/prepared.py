"""Statements PostgreSQL prepares once per connection, for the hottest paths (issue #15: a check
at dialer speed), where parsing and planning a statement each time cost more than running it.

Django binds parameters on the client and prepares nothing (`prepare_threshold` None, so that
a pooler in transaction mode keeps working); a prepared cursor binds them on the server and
prepares its statement on the connection at its first execution. It is still Django's cursor
around it: the health check, the errors Django raises (so an outage stays a 503), the query log
of tests and the execute wrappers all apply. Only statements whose text never changes belong
here: each distinct text stays prepared for the connection's life.
"""

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor


class _Prepared(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=True, binary=False):
        return super().execute(query, params, prepare=prepare, binary=binary)


def prepared_cursor():
    """A cursor of the default connection whose statements are prepared; use it as a context
    manager, as `connection.cursor()`."""
    # The steps of Django's own `connection.cursor()`, with the cursor class swapped.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_Prepared(connection.connection))
