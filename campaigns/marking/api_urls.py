from django.urls import path

from campaigns import call_file_api

urlpatterns = [
    path(
        "campaigns/<int:campaign_id>/call-files",
        call_file_api.CallFileCreateView.as_view(),
        name="api-call-files",
    ),
    path(
        "call-files/<int:call_file_id>",
        call_file_api.CallFileDetailView.as_view(),
        name="api-call-file",
    ),
    path(
        "call-files/<int:call_file_id>/result",
        call_file_api.CallFileResultView.as_view(),
        name="api-call-file-result",
    ),
    path(
        "call-files/<int:call_file_id>/certificate",
        call_file_api.CallFileCertificateView.as_view(),
        name="api-call-file-certificate",
    ),
]
