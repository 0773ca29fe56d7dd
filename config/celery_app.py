import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("sme_lending")
# Every CELERY_* Django setting configures Celery; see config/settings/base.py.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
