"""``python -m services.metering``."""

import libs.svc.natsimport  # noqa: F401  # first: nats-py without aiohttp
from libs.svc import runner
from services.metering.app import run

runner.main("metering", run)
