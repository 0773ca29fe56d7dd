import os

from django.core.wsgi import get_wsgi_application

# Servers and workers default to production: an unset variable must not mean DEBUG on.
# manage.py (developers) defaults to local; `make run/worker/beat` and pytest name theirs.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
