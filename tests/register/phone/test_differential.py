"""`Normaliser.many` against libphonenumber on a large messy sample, row by row (issue #15).

The property tests in test_normalise.py try many shapes in small batches; this one reads tens
of thousands of rows in one batch, as a call file arrives, so that the bulk path's vectorised
reading (heads, digits, ranges of the number plan) meets every range of the registers' plans.
The sample is drawn from a fixed seed: a failure is the same on every run.
"""

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from register.phone import Normaliser, normalise_slow

ROWS = 30_000
SEED = 15
# The registers we run, the third included; the US (bench/huge's register), whose national
# prefix is its country code, and Canada, which shares it; and the other main countries of a
# shared country code that the bulk path reads (Italy with the Vatican, Guadeloupe, Réunion).
REGIONS = ["NL", "BE", "LU", "US", "CA", "IT", "GP", "RE"]
FOREIGN = ["NL", "BE", "LU", "DE", "FR", "GB", "US", "IT", "MA", "PL"]
SEPARATORS = [" ", "-", ".", "/", "(", ")", "  ", "\t", "\u00a0"]
LABELS = ["tel: ", "mobiel ", "Tel.:", "x", "bel niet ", "n.v.t."]


def _examples(region: str) -> list[tuple[str, str]]:
    """(country code, national significant number) of the region's example numbers."""
    examples = []
    for number_type in PhoneNumberType.values():
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is not None:
            national = phonenumbers.national_significant_number(example)
            examples.append((str(example.country_code), national))
    return examples


def _messy_row(rng: random.Random, region: str, examples: dict[str, list]) -> str:
    """A row as call files hold them: mostly the region's numbers, written any way."""
    home = rng.random() < 0.85
    code, national = rng.choice(examples[region if home else rng.choice(FOREIGN)])
    # Other numbers of the example's range: its last digits drawn, fewer or more of them now
    # and then; and now and then any digits of its length.
    kept = rng.choice([1, 2, 3, 4, 4, 5, 5, 6])
    digits = list(national[:kept]) + rng.choices("0123456789", k=max(len(national) - kept, 0))
    draw = rng.random()
    if draw < 0.05:
        digits.insert(rng.randrange(len(digits) + 1), rng.choice("0123456789"))
    elif draw < 0.1 and len(digits) > 1:
        del digits[rng.randrange(len(digits))]
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        digits.insert(rng.randrange(1, len(digits) + 1), rng.choice(SEPARATORS))
    body = "".join(digits)
    heads = ["", "0", "0", "0", f"+{code} ", f"+{code}", f"00{code}", code, f"+{code} (0)"]
    slips = ["+", "00", "(0", "++", "0 0", "+0", f"0{code}", f"00{code}0", f"{code}0"]
    text = rng.choice(heads if rng.random() < 0.9 else slips) + body
    if rng.random() < 0.03:
        text = rng.choice(LABELS) + text
    if rng.random() < 0.05:
        text = "'" + text
    if rng.random() < 0.05:
        text += rng.choice([".0", ". 0", ".00", "'"])
    if rng.random() < 0.01:
        text = rng.choice(["", " ", "-", "112", "0800", "onbekend", "٠٦١٢٣٤٥٦٧٨", "1" * 300])
    return rng.choice(["", "", " "]) + text + rng.choice(["", "", "", " ", "\n"])


@pytest.mark.parametrize("region", REGIONS)
def test_many_gives_libphonenumbers_answer_on_a_large_messy_sample(region):
    rng = random.Random(f"{SEED}-{region}")
    examples = {country: _examples(country) for country in {region, *FOREIGN}}
    rows = [_messy_row(rng, region, examples) for _ in range(ROWS)]
    found = list(Normaliser(region).many(rows))
    expected = [normalise_slow(raw, region) for raw in rows]
    wrong = [
        (raw, got, want)
        for raw, got, want in zip(rows, found, expected, strict=True)
        if got != want
    ]
    assert not wrong[:20], f"{len(wrong)} of {len(rows)} rows differ"
    # The sample holds the region's consumer numbers, not only what the per-row way reads.
    assert sum(result.ok for result in expected) > ROWS // 12
