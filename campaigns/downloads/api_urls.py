from django.urls import path

from campaigns import download_api

urlpatterns = [
    path("downloads", download_api.DownloadCreateView.as_view(), name="api-downloads"),
    path(
        "downloads/<int:download_id>",
        download_api.DownloadDetailView.as_view(),
        name="api-download",
    ),
    path(
        "downloads/<int:download_id>/file",
        download_api.DownloadFileView.as_view(),
        name="api-download-file",
    ),
]
