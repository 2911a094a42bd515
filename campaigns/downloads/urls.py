from django.urls import path

from campaigns.downloads import views

app_name = "downloads"

urlpatterns = [
    path("", views.download_list, name="list"),
    path("<int:download_id>/status/", views.download_status, name="status"),
    path("<int:download_id>/file/", views.download_file, name="file"),
    path("<int:download_id>/extend/", views.download_extend_view, name="extend"),
]
