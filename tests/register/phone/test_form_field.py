"""The form field for one typed number (SPEC §4): the normaliser's verdict and messages."""

import pytest
from django import forms
from django.utils import translation
from django_scopes import scope
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from register.phone import Problem, normalise
from register.phone.forms import PhoneNumberFormField, e164_digits
from register.phone.messages import TOO_LONG, TOO_SHORT, problem_message
from tests.register.phone.test_normalise import REGIONS, messy_numbers


def _verdict(field: PhoneNumberFormField, raw: str) -> tuple[int | None, str | None]:
    """What the field made of `raw`: the E.164 digits, or the error's code."""
    try:
        return e164_digits(field.clean(raw)), None
    except forms.ValidationError as error:
        return None, error.code


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    region=st.sampled_from(REGIONS),
    accept=st.sampled_from([(), (Problem.FOREIGN,), (Problem.FOREIGN, Problem.SERVICE)]),
    raw=st.one_of(
        messy_numbers(),
        messy_numbers(),
        st.text(alphabet="0123456789+ ()-./'x#\t", max_size=24),
        st.text(max_size=24),
    ),
)
@example(region="NL", accept=(), raw="06 1234 56789")
@example(region="NL", accept=(Problem.SERVICE,), raw="112")
@example(region="NL", accept=(), raw=" \n")
def test_the_fields_verdict_is_the_normalisers(region, accept, raw):
    field = PhoneNumberFormField(region=region, accept=accept)
    result = normalise(raw, region)
    number, code = _verdict(field, raw)
    if not raw.strip():
        assert (number, code) == (None, "required")
    elif result.number is not None and (result.problem is None or result.problem in accept):
        assert (number, code) == (result.number, None)
    else:
        assert number is None
        expected = {result.problem.value}
        if result.problem is Problem.INVALID:
            expected |= {TOO_LONG, TOO_SHORT}
        assert code in expected


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("bel me niet", "invalid", "“bel me niet” is not a valid telephone number."),
        (
            "+32 470 12 34 56",
            "foreign",
            "“+32 470 12 34 56” is a number of another country; this register only holds "
            "numbers starting with +31.",
        ),
        (
            "0800 1234567",
            "service",
            "“0800 1234567” is a service number (such as 0800, 0900 or 112), not a personal "
            "number, and cannot be registered.",
        ),
        (
            "06 1234 56789",
            TOO_LONG,
            "“06 1234 56789” has one digit too many for a telephone number starting with +31.",
        ),
    ],
)
def test_a_refused_number_gets_the_normalisers_precise_message(raw, code, message):
    field = PhoneNumberFormField(region="NL")
    with translation.override("en"):
        with pytest.raises(forms.ValidationError) as refused:
            field.clean(raw)
        assert message == problem_message(raw, normalise(raw, "NL"), "NL")
    assert refused.value.code == code
    assert refused.value.messages == [message]


@pytest.mark.parametrize(
    ("language", "start"),
    [("nl", "“06 1234 56789” heeft één cijfer te veel"), ("fr", "« 06 1234 56789 » a un chiffre")],
)
def test_the_message_is_in_the_pages_language(language, start):
    field = PhoneNumberFormField(region="NL")
    with translation.override(language), pytest.raises(forms.ValidationError) as refused:
        field.clean("06 1234 56789")
    assert refused.value.messages[0].startswith(start)


def test_accepted_problems_pass_in_e164_and_a_short_service_number_never():
    field = PhoneNumberFormField(region="NL", accept=(Problem.FOREIGN, Problem.SERVICE))
    assert field.clean("+32 470 12 34 56").as_e164 == "+32470123456"
    assert field.clean("0800 1234567").as_e164 == "+318001234567"
    with pytest.raises(forms.ValidationError) as refused:
        field.clean("112")
    assert refused.value.code == "service"


@pytest.mark.django_db
def test_without_a_region_the_field_reads_the_register_of_the_scope(be):
    field = PhoneNumberFormField()
    with scope(register=be):
        assert field.clean("0470 12 34 56").as_e164 == "+32470123456"
        with pytest.raises(forms.ValidationError) as refused:
            field.clean("+31 6 12345678")
    assert refused.value.code == "foreign"


def test_the_input_is_a_tel_input_that_shows_the_number_internationally():
    field = PhoneNumberFormField(region="NL")
    html = field.widget.render("phone", field.clean("0612345678"))
    assert 'type="tel"' in html
    assert 'autocomplete="tel"' in html
    assert 'value="+31 6 12345678"' in html
