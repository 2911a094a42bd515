from django.urls import path

from campaigns.marking import views

app_name = "call_files"

# Mounted under campaigns/: a call file is marked for one of the company's campaigns.
urlpatterns = [
    path("<int:campaign_id>/call-files/new/", views.call_file_new, name="new"),
    path("call-files/<int:call_file_id>/", views.call_file_detail, name="detail"),
    path(
        "call-files/<int:call_file_id>/preview/",
        views.call_file_preview_view,
        name="preview",
    ),
    path(
        "call-files/<int:call_file_id>/problems.csv",
        views.call_file_problems_csv,
        name="problems",
    ),
    path("call-files/<int:call_file_id>/status/", views.call_file_status, name="status"),
    path("call-files/<int:call_file_id>/result/", views.call_file_result, name="result"),
    path(
        "call-files/<int:call_file_id>/certificate/",
        views.call_file_certificate,
        name="certificate",
    ),
]
