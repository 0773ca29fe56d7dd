"""The back office's own pages: the portfolio dashboard (the admin's home), a company's and a
person's story, and the underwriting view of an application.

Views are thin: the reads are ``monitoring.dashboard`` and ``monitoring.pages``, the moves
are the services in ``loans.services.applications``.  Each page is mounted with the
``permission_view`` of the admin of its record (see ``urls()``), so it demands the same view
permission as the record's admin page, and each move its own permission on top.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from loans.errors import DomainError
from loans.models import Company, LoanApplication, Person
from loans.services import applications as app_services
from monitoring import dashboard as dashboard_data
from monitoring import pages as page_data


def dashboard_callback(request, context: dict) -> dict:
    """The home page's figures, added to the admin index's context (django-unfold's
    ``DASHBOARD_CALLBACK`` signature, so a theme can call it as is)."""
    data = dashboard_data.dashboard()
    context.update(dashboard=data, dashboard_charts=dashboard_data.chart_data(data))
    return context


def install_dashboard(site: admin.AdminSite) -> None:
    """Make ``site``'s index the portfolio dashboard (plain admin)."""
    if getattr(site, "_dashboard_installed", False):
        return
    plain_index = site.index

    def index(request, extra_context=None):
        return plain_index(request, dashboard_callback(request, dict(extra_context or {})))

    site.index = index
    site.index_template = "backoffice/dashboard.html"
    site._dashboard_installed = True


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, **extra}


def company_view(request, pk: int):
    try:
        data = page_data.company_page(pk)
    except Company.DoesNotExist:
        raise Http404 from None
    company = data["company"]
    return TemplateResponse(request, "backoffice/company.html", _context(
        request, company.legal_name, page=data, opts=Company._meta, history_chart={"points": data["history"]},
    ))


def person_view(request, pk: int):
    try:
        data = page_data.person_page(pk)
    except Person.DoesNotExist:
        raise Http404 from None
    return TemplateResponse(request, "backoffice/person.html", _context(
        request, data["person"].name, page=data, opts=Person._meta, history_chart={"points": data["history"]},
    ))


# move -> (service call, permission)
_MOVES = {
    "submit": (lambda pk, user: app_services.application_submit(application_id=pk, actor=user), "loans.submit_application"),
    "accept": (lambda pk, user: app_services.application_accept(application_id=pk, actor=user), "loans.accept_offer"),
    "book": (lambda pk, user: app_services.application_book(application_id=pk, actor=user), "loans.book_application"),
    "withdraw": (
        lambda pk, user: app_services.application_withdraw(application_id=pk, actor=user, note=f"withdrawn by {user}"),
        "loans.withdraw_application",
    ),
}
_DONE = {"submit": _("Submitted."), "accept": _("Offer accepted."), "book": _("Booked: the credit line is open."), "withdraw": _("Withdrawn.")}


def application_view(request, pk: int):
    if request.method == "POST":
        return _application_move(request, pk)
    try:
        data = page_data.application_page(pk, request.user)
    except LoanApplication.DoesNotExist:
        raise Http404 from None
    return TemplateResponse(request, "backoffice/application.html", _context(
        request, _("Application #%(id)s — underwriting") % {"id": pk}, page=data, opts=LoanApplication._meta,
    ))


def _application_move(request, pk: int):
    move = request.POST.get("move", "")
    if move not in _MOVES:
        return HttpResponseNotAllowed(["GET"]) if not move else redirect(_here(pk))
    call, permission = _MOVES[move]
    if not request.user.has_perm(permission):
        raise PermissionDenied
    try:
        call(pk, request.user)
    except (DomainError, ValidationError) as exc:
        text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    else:
        messages.success(request, str(_DONE[move]))
    return redirect(_here(pk))


def _here(pk: int) -> str:
    return reverse("backoffice:application", args=[pk])


def urls() -> list:
    """The pages' URLs, each mounted with its record admin's ``permission_view``."""
    from scoring.models import ScoreModel

    from . import model_views

    registry = admin.site._registry
    return [
        path("parties/company/<int:pk>/overview/",
             registry[Company].permission_view(company_view, "parties.view_company"), name="company"),
        path("parties/person/<int:pk>/overview/",
             registry[Person].permission_view(person_view, "parties.view_person"), name="person"),
        path("loans/loanapplication/<int:pk>/underwriting/",
             registry[LoanApplication].permission_view(application_view, "loans.view_loanapplication"), name="application"),
        path("scoring/scoremodel/monitoring/",
             registry[ScoreModel].permission_view(model_views.models_view, *model_views.VIEW_PERMISSIONS), name="models"),
        path("scoring/scoremodel/<int:pk>/monitoring/",
             registry[ScoreModel].permission_view(model_views.model_view, *model_views.VIEW_PERMISSIONS), name="model"),
    ]
