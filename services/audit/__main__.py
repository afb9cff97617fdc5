"""``python -m services.audit``."""

import libs.svc.natsimport  # noqa: F401  # first: nats-py without aiohttp
from libs.svc import runner
from services.audit.app import run

runner.main("audit", run)
