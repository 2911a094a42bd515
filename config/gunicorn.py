"""gunicorn's settings for every way the web process starts: the Procfile, the image, compose.

Workers are recycled after a number of requests (with jitter, so they do not all restart at
once): a leak in a library cannot grow a worker for ever. Each instance has its own control
socket: gunicorn's default is one path per user, which a second instance on the machine (a
test, a benchmark, a second register host) would take over.
"""

import os
import tempfile

port = int(os.environ.get("WEB_PORT", "8000"))
bind = f"0.0.0.0:{port}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A dialer checks hundreds of numbers a second: a restart, which empties the worker's hot cache
# (register/hotcache.py), every few seconds would cost more than the leak it guards against.
max_requests = 100_000
max_requests_jitter = 10_000
# Empty for none (the benchmarks measure requests, not logging).
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
control_socket = os.path.join(tempfile.gettempdir(), f"dnc-gunicorn-{port}-{os.getpid()}.ctl")
