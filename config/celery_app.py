import os

from celery import Celery

# Servers and workers default to production: an unset variable must not mean DEBUG on.
# manage.py (developers) defaults to local; `make run/worker/beat` and pytest name theirs.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("sme_lending")
# Every CELERY_* Django setting configures Celery; see config/settings/base.py.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
