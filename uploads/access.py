"""Who may upload registration files: the company portal's check, for uploads' entry points.

The views and the API (the company portal's pages of this app) check the upload licence here
before they call `registration_file_upload`; uploads' services, selectors, models and tasks
know nothing of licences (STYLE: uploads ──> register).
"""

from django.utils.translation import gettext_lazy as _

from licences.selectors import upload_licence_held
from register.errors import LicenceRequired


def upload_licence_require(*, company) -> None:
    """Raises LicenceRequired (403) unless the company holds the upload licence today."""
    if not upload_licence_held(company=company, on=company.register.today()):
        raise LicenceRequired(
            _(
                "Uploading registrations needs the upload licence (free): request it on your "
                "licences page; the register's staff grant it."
            )
        )
