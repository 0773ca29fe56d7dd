from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "SME Lending — back office"
admin.site.site_title = "SME Lending"
admin.site.index_title = "Underwriting, loan book and post-loan risk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("loans.api.urls")),
]

# JSON errors under /api/, Django's pages elsewhere; a 503 with Retry-After when the database is down.
handler400 = "loans.api.exceptions.bad_request"
handler500 = "loans.api.unavailable.server_error"
