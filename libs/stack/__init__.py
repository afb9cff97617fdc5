"""The embedded local stack: nats-server and PostgreSQL from pip packages, every service as a
supervised process, demo data on first start. ``python -m libs.stack run``."""
