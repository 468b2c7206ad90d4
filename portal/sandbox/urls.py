app_name = "sandbox"

# The built-in WSO2-compatible gateway (issue: Token API client and sandbox gateway).
urlpatterns: list = []
