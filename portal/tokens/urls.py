from django.urls import path

from portal import views as placeholder

app_name = "tokens"

# Placeholders until token generation lands (issue: generate, renew and revoke tokens).
urlpatterns = [
    path("generate/", placeholder.coming_soon, {"title": "Generate token"}, name="generate"),
    path("history/", placeholder.coming_soon, {"title": "Token history"}, name="history"),
]
