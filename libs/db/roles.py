"""Per-service database logins. Migrations create the roles (NOLOGIN, no superuser, no BYPASSRLS);
a deployment gives each one LOGIN and its own password."""

from __future__ import annotations

SERVICE_ROLES = {
    "auth": "bastion_auth",
    "api": "bastion_api",
    "vault": "bastion_vault",
    "metering": "bastion_metering",
    "audit": "bastion_audit",
    "guardrails": "bastion_guardrails",
}


async def enable_logins(superuser_dsn: str, database: str, creds: dict[str, str]) -> None:
    """Give every service role LOGIN, its password and CONNECT on ``database``."""
    import asyncpg  # lazily: the stack supervisor reads SERVICE_ROLES without the driver

    conn = await asyncpg.connect(superuser_dsn)
    try:
        for service, password in creds.items():
            role = SERVICE_ROLES[service]
            # Identifiers come from our own table; the password is passed as a literal via format().
            sql = await conn.fetchval(
                "SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)", role, password
            )
            await conn.execute(sql)
            await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"')
    finally:
        await conn.close()
