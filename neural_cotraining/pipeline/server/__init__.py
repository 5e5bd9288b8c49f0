"""Local database servers: make the configured MariaDB/MySQL (``mariadb``) or PostgreSQL (``postgres``) answer,
starting or installing a local one when needed; a remote server is never touched (``commands``: what both share)."""

from .commands import ServerError
from .mariadb import ensure_server, server_version

__all__ = ["ServerError", "ensure_server", "server_version"]
