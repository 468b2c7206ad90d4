from django.urls import path

from portal.sandbox import views

app_name = "sandbox"

# WSO2's paths: <gateway>/token and <gateway>/revoke, plus one protected API to try tokens on.
urlpatterns = [
    path("token", views.token, name="token"),
    path("revoke", views.revoke, name="revoke"),
    path("api/echo", views.echo, name="echo"),
]
