import os

from celery import Celery

from config.heartbeat import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# config.reaper and config.retention are no app's tasks modules: named here so every worker
# knows their tasks.
app = Celery("dnc", include=["config.reaper", "config.retention"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker records that it is alive, for /healthz (config/heartbeat.py).
app.steps["consumer"].add(WorkerHeartbeat)
