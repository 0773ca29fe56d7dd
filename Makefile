# Two commands matter: `make run` and `make test`.  Everything else supports them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
DEMO_COMPANIES ?= 2000

.PHONY: run test venv migrate worker beat lint clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

## make run: install, migrate, seed demo data when the database is empty, print the logins
## (the superuser, then one user per role: username password role), serve.
run: migrate
	$(PY) manage.py seed_demo --companies $(DEMO_COMPANIES) --if-empty
	$(PY) manage.py demo_admin
	$(PY) manage.py demo_users
	$(PY) manage.py demo_referrals --count 2
	$(PY) manage.py runserver 127.0.0.1:8000

## make test: the whole suite against DATABASE_URL (SQLite when unset).
test: venv
	$(VENV)/bin/pytest

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
