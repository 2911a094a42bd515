"""What a number-plan regex looks at (register.phone.patterns), read without re's private parser."""

import random
import re

import phonenumbers
import pytest
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from register.phone import patterns

ALL_DIGITS = frozenset(b"0123456789")

# pattern, the digits a match can start with, how many leading digits decide a match (None: no
# bound).
CASES = [
    ("6[1-58]\\d{7}", frozenset(b"6"), 2),
    ("[2-4]\\d{7}", frozenset(b"234"), 1),
    ("(?:1[0-35]|2[0-2])\\d{6}", frozenset(b"12"), 2),
    ("1?2\\d{3}", frozenset(b"12"), 2),
    ("(?:8(?:00|7\\d)|9)\\d{5}", frozenset(b"89"), 3),
    ("\\d+", ALL_DIGITS, 0),
    ("\\d{3}(?:4|)5", ALL_DIGITS, 5),
    # An unbounded repeat before a test not every digit passes: no bound.
    ("[1-3]+4", frozenset(b"123"), None),
    # Beyond metadata syntax: any first digit, no bound.
    ("(?=1)2", ALL_DIGITS, None),
    ("[^1]2", ALL_DIGITS, None),
    ("1.2", ALL_DIGITS, None),
]


@pytest.mark.parametrize(("pattern", "first", "depth"), CASES)
def test_first_digits_and_depth_of_a_pattern(pattern, first, depth):
    assert patterns.first_digits(pattern) == first
    assert patterns.depth(pattern) == depth


def _descriptions() -> list[phonenumbers.PhoneNumberDesc]:
    found = []
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            metadata = (
                PhoneMetadata.metadata_for_nongeo_region(code)
                if region == "001"
                else PhoneMetadata.metadata_for_region(region)
            )
            for name in ("general_desc", "fixed_line", "mobile", "toll_free", "premium_rate"):
                desc = getattr(metadata, name, None) if metadata else None
                if desc is not None and desc.national_number_pattern:
                    found.append(desc)
    return found


def test_every_metadata_pattern_is_read_and_its_answers_hold_for_its_example_number():
    """The reader knows all the syntax libphonenumber's metadata uses (else the fast paths would
    assume the least, and lose speed), and what it says holds: the example number starts with
    one of the first digits, and any digits after the depth leave it a match."""
    rng = random.Random(18)
    descriptions = _descriptions()
    assert len(descriptions) > 1_000
    for desc in descriptions:
        pattern = desc.national_number_pattern
        patterns.parse(pattern)
        example = desc.example_number
        if not example or not re.fullmatch(pattern, example):
            continue
        assert ord(example[0]) in patterns.first_digits(pattern), pattern
        depth = patterns.depth(pattern)
        if depth is None:
            continue
        for _ in range(5):
            tail = "".join(rng.choice("0123456789") for _ in example[depth:])
            assert re.fullmatch(pattern, example[:depth] + tail), (pattern, example, depth)
