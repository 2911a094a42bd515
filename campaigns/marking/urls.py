from django.urls import path

from campaigns import call_file_views

app_name = "call_files"

# Mounted under campaigns/: a call file is marked for one of the company's campaigns.
urlpatterns = [
    path("<int:campaign_id>/call-files/new/", call_file_views.call_file_new, name="new"),
    path("call-files/<int:call_file_id>/", call_file_views.call_file_detail, name="detail"),
    path(
        "call-files/<int:call_file_id>/preview/",
        call_file_views.call_file_preview_view,
        name="preview",
    ),
    path("call-files/<int:call_file_id>/status/", call_file_views.call_file_status, name="status"),
    path("call-files/<int:call_file_id>/result/", call_file_views.call_file_result, name="result"),
    path(
        "call-files/<int:call_file_id>/certificate/",
        call_file_views.call_file_certificate,
        name="certificate",
    ),
]
