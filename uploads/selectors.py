"""Reads for registration files: the company's files, one file's report, lateness per company."""

import datetime

from django.db.models import Count, Max, Q, QuerySet, Sum

from licences.models import Company, Licence, LicenceStatus, ProductKind
from register.errors import NotFound
from uploads.models import FileStatus, RegistrationFile, RegistrationRow


def upload_licence_held(*, company: Company, on: datetime.date) -> bool:
    """Whether the company holds a usable upload licence on `on` (seed 000: free, no end date).

    A cancelled licence stays usable until its end date, as every licence does.
    """
    return (
        Licence.objects.filter(
            company=company,
            product__kind=ProductKind.UPLOAD,
            status__in=[LicenceStatus.ACTIVE, LicenceStatus.CANCELLED],
            starts_on__lte=on,
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
        .exists()
    )


def registration_files_for_company(*, company: Company) -> QuerySet[RegistrationFile]:
    return RegistrationFile.objects.filter(company=company)


def registration_file_get(*, company: Company, file_id: int) -> RegistrationFile:
    """The company's own file; another company's is NotFound, as if it did not exist."""
    registration_file = registration_files_for_company(company=company).filter(pk=file_id).first()
    if registration_file is None:
        raise NotFound
    return registration_file


def registration_file_rows(*, registration_file: RegistrationFile) -> QuerySet[RegistrationRow]:
    """The rows the report lists (refused, or registered late), in file order."""
    return RegistrationRow.objects.filter(file=registration_file).order_by("line")


def lateness_per_company() -> QuerySet[Company]:
    """Companies that delivered registration files, with how often and how much they were late.

    Annotated with `files`, `late_files`, `rows`, `late_rows` and `last_late_at` (the upload time
    of the latest file with late rows), the latest offenders first.
    """
    done = Q(registration_files__status=FileStatus.DONE)
    late = done & Q(registration_files__late__gt=0)
    return (
        Company.objects.filter(done)
        .annotate(
            files=Count("registration_files", filter=done),
            late_files=Count("registration_files", filter=late),
            rows=Sum("registration_files__rows_total", filter=done),
            late_rows=Sum("registration_files__late", filter=done),
            last_late_at=Max("registration_files__created_at", filter=late),
        )
        .order_by("-late_rows", "name")
    )
