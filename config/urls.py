from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "SME Lending — back office"
admin.site.site_title = "SME Lending"
admin.site.index_title = "Underwriting, loan book and post-loan risk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("loans.api.urls")),
]

# JSON errors under /api/, Django's pages elsewhere.
handler400 = "loans.api.exceptions.bad_request"
handler500 = "loans.api.exceptions.server_error"
