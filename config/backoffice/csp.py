"""The Content Security Policy of the admin's pages.

The theme (django-unfold) drives its menus, filters and tabs with Alpine.js, which evaluates
the expressions in its ``x-…`` attributes with ``new Function`` ("'unsafe-eval'"), and writes
its colours as an inline ``<style>`` ("'unsafe-inline'" for styles only).  Every script and
stylesheet still comes from this site: no inline ``<script>`` runs and nothing is loaded from
elsewhere.  Pages outside the admin keep the strict policy of ``settings.CONTENT_SECURITY_POLICY``.
"""

ADMIN_PREFIX = "/admin/"
ADMIN_POLICY_UPDATE = {
    "script-src": ["'unsafe-eval'"],
    "style-src": ["'unsafe-inline'"],
}


class AdminThemePolicyMiddleware:
    """Listed after ``csp.middleware.CSPMiddleware``, so it sees the response first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(ADMIN_PREFIX) and not hasattr(response, "_csp_update"):
            response._csp_update = ADMIN_POLICY_UPDATE
        return response
