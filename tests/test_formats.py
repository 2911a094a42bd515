"""One date format per language (issue 13): a date reads the same in a table as in a sentence."""

import datetime

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import get_format


@pytest.mark.parametrize("language", ["nl", "en", "fr"])
def test_short_formats_are_the_long_ones(language):
    with translation.override(language):
        assert get_format("SHORT_DATE_FORMAT") == get_format("DATE_FORMAT")
        assert get_format("SHORT_DATETIME_FORMAT") == get_format("DATETIME_FORMAT")
        rendered = Template('{{ d|date:"SHORT_DATE_FORMAT" }}|{{ d|date:"DATE_FORMAT" }}').render(
            Context({"d": datetime.date(2026, 12, 7)})
        )
    short, long = rendered.split("|")
    assert short == long
    assert {"nl": "7 december 2026", "fr": "7 décembre 2026", "en": "7 December 2026"}[
        language
    ] == long
