import os

from django.core.asgi import get_asgi_application

# Servers and workers default to production: an unset variable must not mean DEBUG on.
# manage.py (developers) defaults to local; `make run/worker/beat` and pytest name theirs.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
