"""Eight bytes at a time: the numpy word kernels the import's line check and the normaliser's
bulk path are made of.

Each works on little-endian uint64 words holding eight bytes of a line (SWAR). They are parts of
`Rows.canonical` (register/bulk/lines.py), which is held to the one-by-one reading by
`test_the_canonical_shape_is_checked_for_every_byte_of_a_line`, and of the bulk path
(register/phone/batch.py), held to the reference by the tests in tests/register/phone/.
"""

from datetime import date

import numpy as np

EPOCH = date(2000, 1, 1)
# PostgreSQL's dates count days from 2000-01-01, numpy's from 1970-01-01.
EPOCH_DAYS = (EPOCH - date(1970, 1, 1)).days

# Eight bytes at a time, as little-endian uint64 words (SWAR): a byte's high bit in each lane.
_HIGH = np.uint64(0x8080808080808080)
ZEROS = np.uint64(0x3030303030303030)
_PAIRS = np.uint64(0x00FF00FF00FF00FF)


def words_at(data: np.ndarray) -> np.ndarray:
    """The words starting at each byte of `data`: gathered at any positions, unaligned, twice
    as fast as rows of bytes."""
    return np.ndarray((len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))


def all_digits(words: np.ndarray) -> np.ndarray:
    """Whether all eight bytes of each word are ASCII digits: a byte's low seven bits plus 0x50
    reach the high bit from "0" on, plus 0x46 from past "9" on, neither carrying out of it."""
    low = words & np.uint64(0x7F7F7F7F7F7F7F7F)
    above = (low + np.uint64(0x5050505050505050)) & ~(low + np.uint64(0x4646464646464646))
    return (above & ~words & _HIGH) == _HIGH


def digit_pairs(words: np.ndarray) -> np.ndarray:
    """Words of eight digits (the first in the lowest byte) as four two-digit numbers, one in
    the low byte of each 16-bit lane."""
    words = words - ZEROS
    return (words * np.uint64(10) + (words >> np.uint64(8))) & _PAIRS


def eight_digits(words: np.ndarray) -> np.ndarray:
    """The numbers words of eight digits write: the lanes joined pairwise, 2, 4, 8 digits."""
    words = digit_pairs(words)
    words = (words * np.uint64(100) + (words >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    words = (words * np.uint64(10_000) + (words >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return words.astype(np.int64)


def lane_masks(widths: int, count: int, *, at_end: bool) -> np.ndarray:
    """Per word of `count` (a row each), per width 0 to `widths`: the mask of the bytes of the
    words that a field of that width covers, at their end or at their start."""
    masks = np.zeros((widths + 1, count * 8), dtype=np.uint8)
    for width in range(widths + 1):
        if at_end:
            masks[width, count * 8 - width :] = 0xFF
        else:
            masks[width, :width] = 0xFF
    return np.ascontiguousarray(masks.view("<u8").T)


# Per year (0001 to 9999 are dates): its first day, from 2000-01-01, and whether it is a leap
# year; per month (1 to 12) of a year that is not: its days, and the days before it.
_YEARS = np.arange(10_000)
_YEAR_DAYS = (_YEARS - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
_YEAR_DAYS -= EPOCH_DAYS
_LEAP = (_YEARS % 4 == 0) & ((_YEARS % 100 != 0) | (_YEARS % 400 == 0))
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0])
_MONTH_STARTS = np.append(0, np.cumsum(_MONTH_DAYS)[:-1])


def iso_days(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of the dates are YYYY-MM-DD dates that exist (year 0001 on), and their days from
    2000-01-01; `first` holds the words of their first eight bytes, `last` of their last."""
    shaped = (first >> np.uint64(32)) & np.uint64(0xFF) == ord("-")
    shaped &= first >> np.uint64(56) == ord("-")
    # YYYYMMDD in one word.
    digits = (
        (first & np.uint64(0xFFFFFFFF))
        | ((first >> np.uint64(40)) & np.uint64(0xFFFF)) << np.uint64(32)
        | (last >> np.uint64(48)) << np.uint64(48)
    )
    shaped &= all_digits(digits)
    pairs = digit_pairs(digits).view(np.uint16).reshape(-1, 4).astype(np.intp)
    year = pairs[:, 0] * 100 + pairs[:, 1]
    month = np.minimum(pairs[:, 2], 13)
    day = pairs[:, 3]
    leap = _LEAP[year]
    exists = shaped & (year >= 1) & (day >= 1) & (day <= _MONTH_DAYS[month] + (leap & (month == 2)))
    return exists, _YEAR_DAYS[year] + _MONTH_STARTS[month] + (leap & (month > 2)) + day - 1
