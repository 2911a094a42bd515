from django.urls import path

from uploads import api

urlpatterns = [
    path(
        "registration-files",
        api.RegistrationFileListView.as_view(),
        name="api-registration-files",
    ),
    path(
        "registration-files/<int:file_id>",
        api.RegistrationFileDetailView.as_view(),
        name="api-registration-file",
    ),
]
