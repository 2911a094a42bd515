from django.urls import path

from campaigns.downloads import api

urlpatterns = [
    path("downloads", api.DownloadCreateView.as_view(), name="api-downloads"),
    path(
        "downloads/<int:download_id>",
        api.DownloadDetailView.as_view(),
        name="api-download",
    ),
    path(
        "downloads/<int:download_id>/file",
        api.DownloadFileView.as_view(),
        name="api-download-file",
    ),
]
