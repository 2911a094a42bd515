from django.urls import path

from uploads import views

app_name = "uploads"

urlpatterns = [
    path("", views.registration_file_list, name="list"),
    path("new/", views.registration_file_new, name="new"),
    path("<int:file_id>/", views.registration_file_detail, name="detail"),
]
