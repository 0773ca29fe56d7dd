# Two commands matter: `make run` and `make test`.  Everything else supports them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
DEMO_COMPANIES ?= 2000
PORT   ?= 8000
DEMO_DAYS ?= 3

.PHONY: run test venv migrate messages worker beat lint clean

$(VENV)/.installed: requirements.txt config/requirements/runtime.txt config/requirements/training.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

## make messages: compile the Chinese catalogue (config/locale).  The compiled .mo is committed
## too, so a machine without GNU gettext (msgfmt) still serves Chinese; a test checks it is current.
messages: venv
	@if command -v msgfmt >/dev/null 2>&1; then $(PY) manage.py compilemessages --locale zh_Hans -v 0; \
	else echo "msgfmt not installed: using the committed config/locale/*/LC_MESSAGES/django.mo"; fi

migrate: messages
	$(PY) manage.py migrate --noinput

## make run: install, migrate, seed demo data when the database is empty (a portfolio booked
## DEMO_DAYS + 1 days ago, then each day since up to yesterday simulated and rescored, a quarter
## of it the demo partner's, two applications referred to
## the committee), print the logins (the superuser, then one user per role: username password
## role), serve on http://127.0.0.1:$(PORT)/ (make run PORT=8010 to serve elsewhere).
run: migrate
	$(PY) manage.py seed_demo --companies $(DEMO_COMPANIES) --if-empty --simulate-days $(DEMO_DAYS)
	$(PY) manage.py demo_admin --port $(PORT)
	$(PY) manage.py demo_users
	$(PY) manage.py demo_referrals --count 2
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

## make test: the whole suite against DATABASE_URL (SQLite when unset), with a coverage summary.
test: venv
	$(VENV)/bin/pytest --cov --cov-report=term:skip-covered

## make lint: ruff (pyflakes, bugbear, pyupgrade, Django rules, import order) and the
## migrations check: a model change without its migration fails here, not in production.
lint: venv
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

## Real deployments: a worker and beat (need CELERY_BROKER_URL, see README).  Celery alone
## defaults to production settings (config/celery_app.py); these targets use local settings
## unless DJANGO_SETTINGS_MODULE names others.
SETTINGS ?= $(or $(DJANGO_SETTINGS_MODULE),config.settings.local)

worker: venv
	DJANGO_SETTINGS_MODULE=$(SETTINGS) $(VENV)/bin/celery -A config worker -l INFO --concurrency 2 --prefetch-multiplier 1

beat: venv
	DJANGO_SETTINGS_MODULE=$(SETTINGS) $(VENV)/bin/celery -A config beat -l INFO

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .demo-login .demo-users
