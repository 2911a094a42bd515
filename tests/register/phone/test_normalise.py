"""The phone-number normaliser (SPEC §4): the input shapes, the verdicts, fast path = reference."""

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from register.phone import (
    INVALID,
    Normalised,
    Normaliser,
    Problem,
    format_international,
    normalise,
    normalise_slow,
)
from register.phone.normaliser import BULK_MIN_ROWS

FOREIGN = Problem.FOREIGN
SERVICE = Problem.SERVICE

# One row per input shape of SPEC §4 and per verdict, in both registers. `fast` says whether the
# fast path must answer the row itself: the common shapes must not fall back to `phonenumbers`.
SHAPES = [
    # Dutch register: the SPEC's national and international shapes of one mobile number.
    ("NL", "0612345678", Normalised(31612345678, None), True),
    ("NL", "06-12345678", Normalised(31612345678, None), True),
    ("NL", "06 1234 5678", Normalised(31612345678, None), True),
    ("NL", "06.12.34.56.78", Normalised(31612345678, None), True),
    ("NL", "06/12345678", Normalised(31612345678, None), True),
    ("NL", "+31 6 12345678", Normalised(31612345678, None), True),
    ("NL", "0031612345678", Normalised(31612345678, None), True),
    ("NL", "+31 (0)6 12345678", Normalised(31612345678, None), True),
    ("NL", "31612345678", Normalised(31612345678, None), True),
    # Spreadsheet artefacts: apostrophe, ".0", the dropped leading zero, stray spaces.
    ("NL", "'0612345678", Normalised(31612345678, None), True),
    ("NL", "612345678.0", Normalised(31612345678, None), True),
    ("NL", "612345678", Normalised(31612345678, None), True),
    ("NL", " 06 12345678 ", Normalised(31612345678, None), True),
    ("NL", "tel: 06-12345678", Normalised(31612345678, None), True),
    # Fixed lines.
    ("NL", "(020) 123 4567", Normalised(31201234567, None), True),
    ("NL", "020-1234567", Normalised(31201234567, None), True),
    ("NL", "+31 20 123 4567", Normalised(31201234567, None), True),
    # Another country's number is out of scope for this register.
    ("NL", "+32 470 12 34 56", Normalised(32470123456, FOREIGN), True),
    ("NL", "0032470123456", Normalised(32470123456, FOREIGN), True),
    ("NL", "32470123456", Normalised(32470123456, FOREIGN), True),
    ("NL", "+49 30 1234567", Normalised(49301234567, FOREIGN), True),
    # Service numbers are valid but not a consumer's.
    ("NL", "0800 1234567", Normalised(318001234567, SERVICE), True),
    ("NL", "0800-1234", Normalised(318001234, SERVICE), True),
    ("NL", "0900 1234567", Normalised(319001234567, SERVICE), True),
    ("NL", "112", Normalised(None, SERVICE), False),
    # Not a number at all.
    ("NL", "", INVALID, True),
    ("NL", "   ", INVALID, True),
    ("NL", "bel me niet", INVALID, False),
    ("NL", "06 1234", INVALID, False),
    ("NL", "0612345", INVALID, True),
    ("NL", "061234567890", INVALID, True),
    ("NL", "+31 6 1234 5678 9", INVALID, True),
    # Belgian register: the same shapes, Belgian numbers.
    ("BE", "0470 12 34 56", Normalised(32470123456, None), True),
    ("BE", "0470/12.34.56", Normalised(32470123456, None), True),
    ("BE", "+32 470 12 34 56", Normalised(32470123456, None), True),
    ("BE", "0032470123456", Normalised(32470123456, None), True),
    ("BE", "+32 (0)470 12 34 56", Normalised(32470123456, None), True),
    ("BE", "32470123456", Normalised(32470123456, None), True),
    ("BE", "'0470123456", Normalised(32470123456, None), True),
    ("BE", "470123456.0", Normalised(32470123456, None), True),
    ("BE", "470123456", Normalised(32470123456, None), True),
    ("BE", "(02) 234 56 78", Normalised(3222345678, None), True),
    ("BE", "02-2345678", Normalised(3222345678, None), True),
    ("BE", "+31 6 12345678", Normalised(31612345678, FOREIGN), True),
    ("BE", "0031612345678", Normalised(31612345678, FOREIGN), True),
    ("BE", "0800 12 345", Normalised(3280012345, SERVICE), True),
    ("BE", "0900 12 345", Normalised(3290012345, SERVICE), True),
    ("BE", "112", Normalised(None, SERVICE), False),
    ("BE", "", INVALID, True),
    ("BE", "geen nummer", INVALID, False),
    ("BE", "0470 12 34", INVALID, True),
    ("BE", "0470 12 34 56 78", INVALID, True),
]


@pytest.mark.parametrize(("region", "raw", "expected", "fast"), SHAPES)
def test_normalise_gives_the_verdict_of_spec_4(region, raw, expected, fast):
    assert normalise(raw, region) == expected
    assert normalise_slow(raw, region) == expected
    assert Normaliser(region).many([raw]) == [expected]
    # A batch large enough for the bulk path, of that shape alone.
    assert Normaliser(region).many([raw] * BULK_MIN_ROWS) == [expected] * BULK_MIN_ROWS


@pytest.mark.parametrize("region", ["NL", "BE"])
def test_many_keeps_the_order_of_rows_the_fast_path_leaves_to_phonenumbers(region):
    raws = [raw for row_region, raw, _, _ in SHAPES if row_region == region]
    expected = [result for row_region, _, result, _ in SHAPES if row_region == region]
    assert Normaliser(region).many(iter(raws)) == expected


@pytest.mark.parametrize(
    ("region", "raw", "expected"), [(r, raw, e) for r, raw, e, fast in SHAPES if fast]
)
def test_the_fast_path_answers_the_common_shapes_itself(region, raw, expected):
    assert Normaliser(region)._fast(raw) == expected


def test_e164_keeps_the_leading_zero_of_italian_numbers():
    assert normalise("+39 06 1234 5678", "NL") == Normalised(390612345678, FOREIGN)
    assert normalise_slow("+39 06 1234 5678", "NL") == Normalised(390612345678, FOREIGN)


@pytest.mark.parametrize("raw", ["0", "1", "00", "+", "'", ".0"])
def test_one_or_two_characters_are_invalid_not_an_error(raw):
    assert normalise(raw, "NL") == INVALID


def test_format_international_reads_like_a_person_writes_it():
    assert format_international(31612345678) == "+31 6 12345678"


def test_a_region_without_metadata_is_refused():
    with pytest.raises(ValueError, match="no metadata"):
        Normaliser("XX")


# Registers the property tests read numbers in: the two we run, and ones whose metadata takes the
# other roads (shared country codes, no national prefix, prefix transforms, long prefixes).
REGIONS = ["NL", "BE", "DE", "GB", "IT", "VA", "US", "CA", "FR", "AR", "BR", "RU", "KZ", "RE", "YT"]
# Countries whose numbers turn up in the files, at home or abroad.
COUNTRIES = [*REGIONS, "AT", "CH", "ES", "PL", "IM", "JE", "VA", "AU", "IN", "CN", "MA"]
TYPES = [
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.UAN,
    PhoneNumberType.PAGER,
    PhoneNumberType.PERSONAL_NUMBER,
]


def _example_numbers() -> list[tuple[str, str]]:
    """(country code, national significant number) of libphonenumber's example numbers."""
    examples = []
    for country in COUNTRIES:
        for number_type in TYPES:
            example_number = phonenumbers.example_number_for_type(country, number_type)
            if example_number is not None:
                examples.append(
                    (
                        str(example_number.country_code),
                        phonenumbers.national_significant_number(example_number),
                    )
                )
    return examples


EXAMPLES = _example_numbers()
SEPARATORS = [" ", " ", "-", ".", "/", "(", ")", "\t", "\u00a0", "  "]


@st.composite
def messy_numbers(draw) -> str:
    """A number as files hold them: an example number with digits changed, written any way."""
    code, national = draw(st.sampled_from(EXAMPLES))
    digits = list(national)
    for _ in range(draw(st.integers(0, 4))):
        digits[draw(st.integers(0, len(digits) - 1))] = draw(st.sampled_from("0123456789"))
    resize = draw(st.sampled_from(["keep", "keep", "keep", "add", "drop"]))
    if resize == "add":
        digits.insert(draw(st.integers(0, len(digits))), draw(st.sampled_from("0123456789")))
    elif resize == "drop" and len(digits) > 1:
        del digits[draw(st.integers(0, len(digits) - 1))]
    for _ in range(draw(st.integers(0, 4))):
        digits.insert(draw(st.integers(1, len(digits))), draw(st.sampled_from(SEPARATORS)))
    body = "".join(digits)
    # The SPEC's prefixes, and the slips around them (a lone plus, a doubled one, a US exit code).
    prefixes = ["", "0", "0", f"+{code} ", f"+{code}", f"00{code}", code, f"+{code} (0)"]
    slips = ["(0", "+", "00", "++", f"(+{code}) ", "1", "8", "011"]
    prefix = draw(st.sampled_from(prefixes + slips))
    text = draw(st.sampled_from(["", "", "", "", "tel: ", "mobiel ", "x", "Tel.:"])) + prefix + body
    if draw(st.booleans()):
        text = "'" + text
    if draw(st.integers(0, 4)) == 0:
        text += ".0"
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", " ", "\n"]))


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    region=st.sampled_from(REGIONS),
    raw=st.one_of(
        messy_numbers(),
        messy_numbers(),
        messy_numbers(),
        st.text(alphabet="0123456789+ ()-./'x#\t", max_size=24),
        st.text(max_size=24),
    ),
)
@example(region="NL", raw="+0031612345678")
@example(region="NL", raw="+31 0612345678")
@example(region="GB", raw="+44 (0)20 7946 0958")
def test_the_fast_path_agrees_with_phonenumbers(region, raw):
    fast = Normaliser(region)._fast(raw)
    if fast is not None:
        assert fast == normalise_slow(raw, region)


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_region_agrees_and_answers_its_own_example_numbers(region):
    normaliser = Normaliser(region)
    answered = 0
    raws = []
    for number_type in TYPES:
        example_number = phonenumbers.example_number_for_type(region, number_type)
        if example_number is None:
            continue
        code = example_number.country_code
        national = phonenumbers.national_significant_number(example_number)
        for raw in (
            phonenumbers.format_number(example_number, phonenumbers.PhoneNumberFormat.NATIONAL),
            f"+{code} {national}",
            f"{code}{national}",
            national,
        ):
            raws.append(raw)
            fast = normaliser._fast(raw)
            if fast is not None:
                answered += 1
                assert fast == normalise_slow(raw, region), raw
    # Every region has example numbers; at least the E.164 shape must not need phonenumbers.
    assert answered
    assert normaliser.many(raws) == [normalise_slow(raw, region) for raw in raws]


# Rows as files hold them, and the odd ones around them: line breaks and tabs inside a row,
# letters, text that is not ASCII, empty rows, overlong ones.
ODD_ROWS = [
    "",
    " ",
    "'",
    ".0",
    "+",
    "06\n12345678",
    "\n",
    "06\t12345678",
    "06 1234 5678\u00a0",
    "٠٦١٢٣٤٥٦٧٨",
    "06 12345678 .0",
    "0612345678. 0",
    "''0612345678",
    " ' 0612345678",
    "+31+31612345678",
    "0612+345678",
    "3106 12345678",
    "31 0 0 612345678",
    "0" * 300,
    "tel: 06-12345678",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    region=st.sampled_from(REGIONS),
    rows=st.lists(
        st.one_of(
            messy_numbers(),
            messy_numbers(),
            messy_numbers(),
            st.sampled_from(ODD_ROWS),
            st.text(alphabet="0123456789+ ()-./'x#\t\n", max_size=24),
            st.text(max_size=24),
        ),
        max_size=40,
    ),
)
def test_many_agrees_with_phonenumbers_row_by_row(region, rows):
    normaliser = Normaliser(region)
    expected = [normalise_slow(raw, region) for raw in rows]
    assert normaliser.many(rows) == expected
    # Batches this small go one by one in `many`: the bulk path is held to the same answers.
    if normaliser._bulk is not None and rows:
        assert normaliser._bulk(rows, normaliser) == expected


@pytest.mark.parametrize("region", ["NL", "BE"])
def test_many_reads_the_common_shapes_of_home_numbers_in_bulk(region):
    # Labels, other countries and invalid numbers are for the per-row way; the rest is not.
    rows = [
        (raw, expected)
        for row_region, raw, expected, _ in SHAPES
        if row_region == region
        and expected.number is not None
        and expected.problem is not FOREIGN
        and not any(character.isalpha() for character in raw)
    ]
    assert Normaliser(region)._bulk([raw for raw, _ in rows], lambda raw: None) == [
        expected for _, expected in rows
    ]
