from django.contrib import admin
from django.urls import path

admin.site.site_header = "SME Lending — back office"
admin.site.site_title = "SME Lending"
admin.site.index_title = "Underwriting, loan book and post-loan risk"

urlpatterns = [
    path("admin/", admin.site.urls),
]
