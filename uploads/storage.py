"""Files written whole or not at all: through a temporary file beside the target, renamed into
place once complete, removed on any failure — so a failed upload (a full disk, a broken
connection) never leaves a partial file that keeps the disk full."""

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from register.errors import InsufficientStorage


@contextmanager
def written_atomically(path: Path) -> Iterator[BinaryIO]:
    """Yields a file to write `path`'s content to; `path` exists only once all of it is written.
    A full disk raises InsufficientStorage (507): nothing is kept, the user is told to try
    later."""
    partial = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as sink:
            yield sink
        partial.rename(path)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage from error
        raise
