from django.urls import path

from portal.api import views

app_name = "api_keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("<uuid:key_id>/revoke/", views.key_revoke, name="revoke"),
]
