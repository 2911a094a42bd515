"""Reads for registration files: the company's files, one file's report, lateness per company."""

from django.db.models import Count, F, Max, Model, Q, QuerySet, Sum

from register.errors import NotFound
from uploads.models import FileStatus, RegistrationFile, RegistrationRow


def registration_files_for_company(*, company: Model) -> QuerySet[RegistrationFile]:
    return RegistrationFile.objects.filter(company=company)


def registration_file_get(*, company: Model, file_id: int) -> RegistrationFile:
    """The company's own file; another company's is NotFound, as if it did not exist."""
    registration_file = registration_files_for_company(company=company).filter(pk=file_id).first()
    if registration_file is None:
        raise NotFound
    return registration_file


def registration_file_rows(*, registration_file: RegistrationFile) -> QuerySet[RegistrationRow]:
    """The rows the report lists (refused, or registered late), in file order."""
    return RegistrationRow.objects.filter(file=registration_file).order_by("line")


def lateness_per_company() -> QuerySet:
    """Per company that delivered registration files (processed ones), how often and how much
    it was late: `company_id`, `company_name`, `files`, `late_files`, `rows`, `late_rows` and
    `last_late_at` (the upload time of the latest file with late rows), the latest offenders
    first."""
    late = Q(late__gt=0)
    return (
        RegistrationFile.objects.filter(status=FileStatus.DONE)
        .values("company_id", company_name=F("company__name"))
        .annotate(
            files=Count("id"),
            late_files=Count("id", filter=late),
            rows=Sum("rows_total"),
            late_rows=Sum("late"),
            last_late_at=Max("created_at", filter=late),
        )
        .order_by("-late_rows", "company_name")
    )
