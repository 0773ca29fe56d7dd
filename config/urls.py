from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from config.backoffice import pages
from config.ops.twofactor import StaffLoginForm

admin.site.site_header = _("SME Lending — back office")
admin.site.site_title = _("SME Lending")
admin.site.index_title = _("Underwriting, loan book and post-loan risk")

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
    # Post-loan actions (monitoring) under the partner API, before its JSON catch-all.
    path("api/v1/post-loan-actions/", include("monitoring.api_urls")),
    # The language switch posts here (django.views.i18n.set_language).
    path("i18n/", include("django.conf.urls.i18n")),
    # The site is the back office: / leads to the admin.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("api/", include("loans.api.urls")),
]

# JSON errors under /api/, Django's pages elsewhere (403: the admin's own look); a 503 with Retry-After when the database is down.
handler400 = "loans.api.exceptions.bad_request"
# A refused page in the admin's look (templates/403.html), JSON under /api/.
handler403 = "config.backoffice.errors.permission_denied"
handler500 = "loans.api.unavailable.server_error"
