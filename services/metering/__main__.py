"""``python -m services.metering``."""

from libs.svc import runner
from services.metering.app import run

runner.main("metering", run)
