from django.urls import path

from loans.api import urls as _loans_api_urls  # noqa: F401  (registers the "id" path converter)

from . import api

urlpatterns = [
    path("", api.PostLoanActionList.as_view(), name="post-loan-actions"),
    path("<id:pk>/", api.PostLoanActionDetail.as_view(), name="post-loan-action-detail"),
    path("<id:pk>/pledges/", api.PostLoanActionPledge.as_view(), name="post-loan-action-pledge"),
]
