from __future__ import annotations

from pathlib import Path

from libs.svc.rotation import Rotation
from libs.svc.settings import BaseSettings, load
from services.auth.settings import AuthSettings
from services.edge.settings import EdgeSettings


def test_env_values_are_coerced_and_lists_split() -> None:
    settings = load(EdgeSettings, {"BASTION_EDGE_PORT": "9090", "BASTION_TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert settings.edge_port == 9090
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1"]


def test_file_variant_reads_secret_mounts(tmp_path: Path) -> None:
    secret = tmp_path / "pepper"
    secret.write_text("c2VjcmV0LXBlcHBlci0zMi1ieXRlcy1sb25nLXh4eHg=\n")
    settings = load(AuthSettings, {"BASTION_KEY_PEPPER_FILE": str(secret)})
    assert settings.key_pepper == "c2VjcmV0LXBlcHBlci0zMi1ieXRlcy1sb25nLXh4eHg="
    assert "c2VjcmV0" not in repr(settings)


def test_repr_hides_credentials() -> None:
    settings = load(BaseSettings, {"BASTION_DB_DSN": "postgresql://u:hunter2@h/db", "BASTION_NATS_PASSWORD": "pw"})
    assert "hunter2" not in repr(settings)
    assert "pw'" not in repr(settings)


def test_file_bounds_have_defaults_and_come_from_the_environment() -> None:
    defaults = load(BaseSettings, {})
    assert defaults.trace_rotation() == Rotation(50 * 1024 * 1024, 5, 7 * 86_400.0)
    assert defaults.log_rotation() == Rotation(50 * 1024 * 1024, 5, 7 * 86_400.0)
    env = {"BASTION_TRACE_MAX_MB": "0.5", "BASTION_TRACE_BACKUPS": "2", "BASTION_TRACE_MAX_AGE_DAYS": "1",
           "BASTION_LOG_MAX_MB": "10", "BASTION_LOG_BACKUPS": "0", "BASTION_LOG_MAX_AGE_DAYS": "0.5"}  # fmt: skip
    settings = load(EdgeSettings, env)  # every service's settings carry them
    assert settings.trace_rotation() == Rotation(512 * 1024, 2, 86_400.0)
    assert settings.log_rotation() == Rotation(10 * 1024 * 1024, 0, 43_200.0)
