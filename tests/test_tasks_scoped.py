"""Workers run scoped (STYLE 18): every task of ours is made by `register.tasking`, none turns
the scopes off, and `scoped_task` runs its body in the register of the row it serves."""

import inspect

import pytest
from django_scopes import get_scope, scopes_disabled

from config.celery_app import app
from register.tasking import SCOPED, each_register, scoped_task
from tests.factories import CompanyFactory

OUR_APPS = {"register", "licences", "campaigns", "uploads", "complaints", "billing"}


def our_tasks() -> list:
    app.loader.import_default_modules()
    return sorted(
        (task for task in app.tasks.values() if task.run.__module__.split(".")[0] in OUR_APPS),
        key=lambda task: task.name,
    )


def test_the_registry_holds_the_tasks_of_our_apps():
    assert {task.name.split(".")[0] for task in our_tasks()} >= {
        "billing",
        "complaints",
        "licences",
    }


@pytest.mark.parametrize("task", our_tasks(), ids=lambda task: task.name)
def test_every_task_runs_scoped(task):
    assert getattr(task.run, SCOPED, None), f"{task.name} is not made by register.tasking"


@pytest.mark.parametrize("task", our_tasks(), ids=lambda task: task.name)
def test_no_task_turns_the_scopes_off(task):
    assert "scopes_disabled" not in inspect.getsource(task.run)


# Tasks made for these tests only; they are not in our apps, so the walk above leaves them out.
seen: list[dict] = []


@scoped_task("licences.Company")
def company_task(company_id: int) -> str:
    seen.append(dict(get_scope()))
    return "ran"


@scoped_task("licences.Company", bind=True)
def bound_company_task(self, company_id: int) -> str:
    seen.append(dict(get_scope()))
    return self.name


@pytest.fixture
def scopes_seen():
    seen.clear()
    yield seen
    seen.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("task", [company_task, bound_company_task], ids=["plain", "bound"])
def test_a_scoped_task_runs_in_its_rows_register(task, nl, be, scopes_seen):
    company = CompanyFactory(register=be)
    # Even called where the scopes are off, the body runs with them on.
    with scopes_disabled():
        assert task(company.pk) is not None
    [active] = scopes_seen
    assert active["register"] == be
    assert active["_enabled"] is True


@pytest.mark.django_db
def test_a_scoped_task_takes_its_id_by_name_too(nl, be, scopes_seen):
    company = CompanyFactory(register=be)
    assert company_task.apply(kwargs={"company_id": company.pk}).get() == "ran"
    assert [scope["register"] for scope in scopes_seen] == [be]


@pytest.mark.django_db
@pytest.mark.parametrize("task", [company_task, bound_company_task], ids=["plain", "bound"])
def test_a_scoped_task_for_a_row_that_is_gone_does_nothing(task, nl, scopes_seen):
    company = CompanyFactory(register=nl)
    gone = company.pk
    with scopes_disabled():
        company.delete()
    assert task(gone) is None
    assert scopes_seen == []


@pytest.mark.django_db
def test_each_register_sets_the_scope_to_each_in_turn(nl, be):
    scopes = [(register, dict(get_scope())) for register in each_register()]
    assert [register for register, _scope in scopes] == sorted(
        [register for register, _scope in scopes], key=lambda register: register.pk
    )
    assert {nl, be} <= {register for register, _scope in scopes}
    for register, active in scopes:
        assert active["register"] == register
        assert active["_enabled"] is True
