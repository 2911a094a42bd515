from django.urls import path

from campaigns import download_views

app_name = "downloads"

urlpatterns = [
    path("", download_views.download_list, name="list"),
    path("<int:download_id>/status/", download_views.download_status, name="status"),
    path("<int:download_id>/file/", download_views.download_file, name="file"),
    path("<int:download_id>/extend/", download_views.download_extend_view, name="extend"),
]
