# The two set-up commands of the README: `make run` and `make test` (SPEC §18). Both set up what
# they need first: Debian packages, PostgreSQL and Redis (bin/machine-setup), then the Python
# packages pinned in requirements/dev.txt.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := uv pip compile pyproject.toml --python-version 3.11 --python-platform x86_64-manylinux_2_28

export WEB_PORT ?= 8000
export FAKE_MOLLIE_PORT ?= 8765

.PHONY: machine install run test lint bench messages lock clean

machine:
	bin/machine-setup

$(STAMP): requirements/dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: machine $(STAMP)

run: install
	mkdir -p var/mail
	$(BIN)/python manage.py ensure_database
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py load_demo_data
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/honcho start

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

# After a change of pyproject.toml's dependencies: pins every package anew, for the image
# (production.txt) and for development and CI (dev.txt).
lock: $(STAMP)
	$(BIN)/$(LOCK) -o requirements/production.txt
	$(BIN)/$(LOCK) --extra dev -o requirements/dev.txt

# Needs gettext's msgfmt; the compiled catalogues are committed so running needs no gettext.
messages: install
	$(BIN)/python manage.py makemessages --all --ignore '.venv/*' --ignore 'bench/*' --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) var
