"""Every form where a person types one telephone number uses the one phone field (SPEC §4).

The forms are found by walking the project's packages, not by a list: a form added later is
walked too. A field takes one number when its name or label says so; a textarea of numbers, a
file of them or the choice of a file's telephone column does not.
"""

import importlib
import pkgutil
import re

import pytest
from django import forms
from django.apps import apps
from django.utils import translation
from phonenumber_field.modelfields import PhoneNumberField

from register.phone.forms import PhoneNumberFormField

PROJECT_APPS = ["register", "licences", "campaigns", "complaints", "billing", "uploads"]
# Modules that define forms: forms, admin forms, and views or admins that build their own.
FORM_MODULES = re.compile(r"(^|\.)(forms|admin_forms|admin|views|api)$")
PHONE_WORD = re.compile(r"(^|_)(phone|telephone|tel)($|_)")
PHONE_NAME = re.compile(rf"{PHONE_WORD.pattern}|^number$|^(called|calling|caller)(_number)?$")
# Numbers of other things, and the names of a file's telephone column.
NOT_A_PHONE = re.compile(r"chamber_number|vat|invoice|_column$|^numbers$|reference|order")
PHONE_LABEL = re.compile(r"\b(tele)?phone\b|\btelephone number\b", re.IGNORECASE)


def _import_project_modules() -> None:
    for app in PROJECT_APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if FORM_MODULES.search(module.name):
                importlib.import_module(module.name)


def _subclasses(cls) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def project_forms() -> list[type[forms.BaseForm]]:
    _import_project_modules()
    return sorted(
        (
            form
            for form in _subclasses(forms.BaseForm)
            if form.__module__.split(".")[0] in PROJECT_APPS
        ),
        key=lambda form: f"{form.__module__}.{form.__qualname__}",
    )


def takes_one_phone_number(name: str, field: forms.Field) -> bool:
    if isinstance(field, forms.FileField | forms.ChoiceField) or isinstance(
        field.widget, forms.Textarea
    ):
        return False
    if NOT_A_PHONE.search(name):
        return False
    with translation.override("en"):
        label = str(field.label or "")
    return bool(PHONE_NAME.search(name) or PHONE_LABEL.search(label))


def test_the_walk_finds_the_forms_and_their_phone_fields():
    """The walk itself works: it finds forms known to take one number, and ones that do not."""
    names = {f"{form.__module__}.{form.__name__}" for form in project_forms()}
    assert {
        "register.forms.NumberForm",
        "licences.forms.CompanyForm",
        "complaints.forms.PublicCaseForm",
        "complaints.admin_forms.CaseRecordForm",
        "campaigns.checks.forms.NumberSearchForm",
        "register.forms.BlockForm",
    } <= names
    assert takes_one_phone_number("phone", forms.CharField(label="Contact"))
    assert takes_one_phone_number("called_number", forms.CharField(label="Called"))
    assert takes_one_phone_number("caller", forms.CharField(label="The caller's telephone"))
    assert not takes_one_phone_number("phone_column", forms.CharField(label="Telephone column"))
    assert not takes_one_phone_number("chamber_number", forms.CharField(label="KvK"))
    assert not takes_one_phone_number("numbers", forms.CharField(widget=forms.Textarea))


@pytest.mark.parametrize("form", project_forms(), ids=lambda form: form.__qualname__)
def test_no_form_takes_one_phone_number_in_a_plain_text_field(form):
    plain = [
        name
        for name, field in form.base_fields.items()
        if takes_one_phone_number(name, field) and not isinstance(field, PhoneNumberFormField)
    ]
    assert plain == [], f"{form.__module__}.{form.__qualname__}: use PhoneNumberFormField"


@pytest.mark.parametrize(
    "model",
    [model for app in PROJECT_APPS for model in apps.get_app_config(app).get_models()],
    ids=lambda model: model._meta.label,
)
def test_a_stored_telephone_is_the_packages_field_with_the_one_form_field(model):
    """What the admin and every model form make of a model's telephone field. The register's own
    numbers (`number`, E.164 digits in a `bigint`) and a file's rows as given are the bulk
    paths' and are read by the normaliser."""
    for field in model._meta.get_fields():
        if not getattr(field, "concrete", False) or field.is_relation:
            continue
        if PHONE_WORD.search(field.name) and not NOT_A_PHONE.search(field.name):
            assert isinstance(field, PhoneNumberField), model._meta.label
            assert isinstance(field.formfield(), PhoneNumberFormField), model._meta.label
