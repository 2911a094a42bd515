from django.urls import path

from campaigns.marking import api

urlpatterns = [
    path(
        "campaigns/<int:campaign_id>/call-files",
        api.CallFileCreateView.as_view(),
        name="api-call-files",
    ),
    path(
        "call-files/<int:call_file_id>",
        api.CallFileDetailView.as_view(),
        name="api-call-file",
    ),
    path(
        "call-files/<int:call_file_id>/result",
        api.CallFileResultView.as_view(),
        name="api-call-file-result",
    ),
    path(
        "call-files/<int:call_file_id>/certificate",
        api.CallFileCertificateView.as_view(),
        name="api-call-file-certificate",
    ),
]
