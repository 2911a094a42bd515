import os

from celery import Celery

from config.heartbeat import WorkerHeartbeat

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("dnc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker records that it is alive, for /healthz (config/heartbeat.py).
app.steps["worker"].add(WorkerHeartbeat)
