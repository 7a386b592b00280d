"""Storage tests run once per database: see tests/support/postgres.py."""

from tests.support.postgres import database_url, postgres_server, postgres_url

__all__ = ["database_url", "postgres_server", "postgres_url"]
