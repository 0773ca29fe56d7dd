# Two commands matter: `make run` and `make test`.  Everything else supports them.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
DEMO_COMPANIES ?= 2000

.PHONY: run test venv migrate worker beat lint clean

$(VENV)/.installed: requirements.txt config/requirements/runtime.txt config/requirements/training.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

## make run: install, migrate, seed demo data when the database is empty, print a login, serve.
run: migrate
	$(PY) manage.py seed_demo --companies $(DEMO_COMPANIES) --if-empty
	$(PY) manage.py demo_admin
	$(PY) manage.py runserver 127.0.0.1:8000

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
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .demo-login
