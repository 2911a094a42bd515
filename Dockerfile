# One image for every process of the Procfile: web, worker, beat and the fake Mollie.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
COPY requirements requirements
RUN apt-get update \
 && sed -e 's/#.*//' requirements/debian-runtime.txt \
    | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir -r requirements/production.txt
COPY pyproject.toml README.md ./
COPY config config
COPY register register
COPY licences licences
COPY campaigns campaigns
COPY uploads uploads
COPY complaints complaints
COPY billing billing
RUN /app/.venv/bin/pip install --no-cache-dir --no-deps .
COPY . .
RUN SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build MOLLIE_API_KEY=build \
    CERTIFICATE_SIGNING_KEY=build CERTIFICATE_SIGNING_CERT=build \
    /app/.venv/bin/python manage.py collectstatic --no-input --verbosity 0

RUN useradd --system --home /app dnc && mkdir -p /app/var && chown dnc /app/var
USER dnc
EXPOSE 8000
ENV WEB_CONCURRENCY=3
CMD [".venv/bin/gunicorn", "config.wsgi", "--config", "config/gunicorn.py"]
