from django.contrib import admin
from django.urls import include, path

from config.backoffice import pages
from config.ops.twofactor import StaffLoginForm

admin.site.site_header = "SME Lending — back office"
admin.site.site_title = "SME Lending"
admin.site.index_title = "Underwriting, loan book and post-loan risk"

# Staff log in with password and, when enrolled or required, an authenticator code (ops).
admin.site.login_form = StaffLoginForm
admin.site.login_template = "ops/admin_login.html"

# The home page is the portfolio dashboard; record pages (company, person, underwriting).
pages.install_dashboard(admin.site)

urlpatterns = [
    # ops: /health/, /ready/, /metrics, /admin/two-factor/ (before the admin's catch-all)
    path("", include("config.ops.urls")),
    path("admin/", include((pages.urls(), "backoffice"), namespace="backoffice")),
    path("admin/", admin.site.urls),
    path("api/", include("loans.api.urls")),
]

# JSON errors under /api/, Django's pages elsewhere; a 503 with Retry-After when the database is down.
handler400 = "loans.api.exceptions.bad_request"
handler500 = "loans.api.unavailable.server_error"
