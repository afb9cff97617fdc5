"""``python -m services.auth``."""

import libs.svc.natsimport  # noqa: F401  # first: nats-py without aiohttp
from libs.svc import runner
from services.auth.app import run

runner.main("auth", run)
