"""Register import and export at COPY speed (SPEC §5 admin import, §16 commands).

The import reads the file once, in blocks, into numpy arrays: one row for each line that carries
a number, with its line number (`lines`). Lines already in the register's own shape (the
country's E.164 digits, a date that exists and is not in the future, the register's category
codes in its order) are checked and parsed vectorised, a block at a time, eight bytes to a numpy
word (`register.words`), and their numbers judged by the ranges of the number plan they fall in
(`register.phone.e164_ranges`); only other lines, and numbers whose range calls for it, are read
one by one by the normaliser and Python's date and category rules. Then (`load`) the numbers are
sorted in the client, and a part at a time, while PostgreSQL loads the parts before, each number
keeps its first line, numbers already registered are left out, and the rows go by number through
one binary COPY into the register, written straight from a numpy array in PostgreSQL's binary
row layout; or, where the register's table holds few numbers next to those, into a table of its
own that is then indexed whole, given the numbers held, and put in the register's place. The
history gets one row, the RegisterImport, which the loaded numbers point to. All
of it is one transaction. `export` writes the register out.
"""

from register.bulk.export import register_export
from register.bulk.lines import ImportFileError, ImportReport, SkippedLine, SkipReason
from register.bulk.load import logger, register_import

__all__ = [
    "ImportFileError",
    "ImportReport",
    "SkipReason",
    "SkippedLine",
    "logger",
    "register_export",
    "register_import",
]
