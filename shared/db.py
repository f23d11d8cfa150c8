"""PostgreSQL: provisioning a service's database and roles, migrations, tenant-scoped transactions."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from shared.config import Settings

log = logging.getLogger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
# Text compared byte by byte: the keys are ids (uuids, stream names) and codes, and byte order is code point order
# for UTF-8 — how C.UTF-8 sorts Chinese names too. PostgreSQL compares "C" text with memcmp and sorts it by
# abbreviated keys; any other libc collation, C.UTF-8 included, goes through strcoll, about twice the time of an
# index build over the activities' participants. The character classes (upper, lower, regular expressions) keep
# the server's.
COLLATION = "C"
TENANT_SETTING = "branchwork.tenant_id"


def connect(dsn: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(dsn, row_factory=dict_row, **kwargs)


def open_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, name: str = "") -> ConnectionPool:
    """A pool whose connections return rows as dicts; opened before the first request."""
    return ConnectionPool(dsn, min_size=min_size, max_size=max_size, kwargs={"row_factory": dict_row},
                          name=name or None, open=True, timeout=10)


def set_tenant(conn: psycopg.Connection, tenant_id: str | None, *, read_only: bool = False) -> None:
    """Scope the current transaction to one bureau; row-level security reads this setting. ``read_only``: the
    transaction is made read-only in the same statement (``SET TRANSACTION READ ONLY`` would be a round trip
    of its own, and on a busy server each is a wait)."""
    if read_only:
        conn.execute("SELECT set_config('transaction_read_only', 'on', true), set_config(%s, %s, true)",
                     (TENANT_SETTING, tenant_id or ""))
    else:
        conn.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant_id or ""))


# A transaction costs two round trips of its own when psycopg's transaction block runs it — BEGIN, then COMMIT,
# each awaited, and in pipeline mode a sync at each (on a busy server every wait is a turn for a core). The
# helpers below send BEGIN and COMMIT as plain statements, on a connection in autocommit mode for the while, so
# that they travel with the transaction's first and last statements. Inside, ``conn.transaction()`` makes
# savepoints as in any transaction — once the BEGIN's answer is in, which is when psycopg knows one is open.

_IDLE = psycopg.pq.TransactionStatus.IDLE


@contextmanager
def _plain_transaction(conn: psycopg.Connection) -> Iterator[None]:
    """Autocommit mode for the block, the transaction it opens rolled back on an error — also one that came back
    only with the COMMIT, which the server then skipped — and committed on leaving if the block did not."""
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        yield
        if conn.info.transaction_status != _IDLE:
            conn.execute("COMMIT")
    except BaseException:
        if not conn.closed:
            conn.rollback()  # psycopg's: it also forgets the statements it prepared, lost with the transaction
        raise
    finally:
        if not conn.closed:
            conn.autocommit = autocommit


@contextmanager
def pipelined_transaction(conn: psycopg.Connection, first: Callable[[], Any]) -> Iterator[Any]:
    """A transaction run in pipeline mode from BEGIN to COMMIT: BEGIN goes out with ``first()``'s statements, one
    round trip for both (a sync: psycopg learns only from it that a transaction is open, and a nested
    ``conn.transaction()`` must make a savepoint, not a transaction of its own), COMMIT with the block's last
    statements; yields what ``first`` returned. In a transaction the caller holds open, a savepoint of it."""
    if conn.info.transaction_status != _IDLE:
        with conn.transaction(), conn.pipeline():
            yield first()
        return
    with _plain_transaction(conn), conn.pipeline() as pipeline:
        conn.execute("BEGIN")
        result = first()
        pipeline.sync()
        yield result
        conn.execute("COMMIT")


class Begun:
    """A transaction ``transaction_with`` opened: what its first statements gave (``first``), and ``commit()``,
    which sends the COMMIT with the statements before it when called in a pipeline."""

    def __init__(self, conn: psycopg.Connection, first: Any, own: bool) -> None:
        self.conn, self.first, self.own = conn, first, own

    def commit(self) -> None:
        if self.own:  # a savepoint of the caller's transaction is let go by the caller's block
            self.conn.execute("COMMIT")


@contextmanager
def transaction_with(conn: psycopg.Connection, first: Callable[[], Any]) -> Iterator[Begun]:
    """A transaction whose BEGIN goes out with ``first()``'s statements, one round trip for both (``first`` runs
    in pipeline mode and must not open one of its own: that would send BEGIN alone). The COMMIT is sent on
    leaving, unless the block sent it with its last statements (``commit()`` in a pipeline). In a transaction
    the caller holds open, a savepoint of it."""
    if conn.info.transaction_status != _IDLE:
        with conn.transaction():
            yield Begun(conn, first(), own=False)
        return
    with _plain_transaction(conn):
        with conn.pipeline():
            conn.execute("BEGIN")
            result = first()
        yield Begun(conn, result, own=True)


@contextmanager
def tenant_transaction(pool: ConnectionPool, tenant_id: str | None) -> Iterator[psycopg.Connection]:
    with pool.connection() as conn, conn.transaction():
        set_tenant(conn, tenant_id)
        yield conn


@contextmanager
def tenant_snapshot(conn: psycopg.Connection, tenant_id: str | None) -> Iterator[psycopg.Connection]:
    """A transaction on ``conn`` that reads one consistent snapshot (REPEATABLE READ) of one bureau's rows,
    for reads that must agree with each other however many writers commit meanwhile."""
    with snapshot(conn):
        set_tenant(conn, tenant_id)
        yield conn


@contextmanager
def snapshot(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """One consistent snapshot (REPEATABLE READ) for reads that must agree with each other however many
    writers commit meanwhile; inside a transaction the caller already opened, that transaction's own view."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        yield conn
        return
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield conn


def provision(settings: Settings, migration_dirs: Sequence[Path]) -> None:
    """Create the service's roles and database if missing, then apply pending migrations."""
    with psycopg.connect(settings.admin_dsn, autocommit=True) as admin:
        _ensure_role(admin, settings.owner_role, settings.db_password)
        _ensure_role(admin, settings.app_role, settings.db_password)
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (settings.database,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' LC_COLLATE {} TEMPLATE template0")
                          .format(sql.Identifier(settings.database), sql.Identifier(settings.owner_role),
                                  sql.Literal(COLLATION)))
            log.info("created database %s", settings.database)
    migrate(settings, [SHARED_MIGRATIONS, *migration_dirs])


def _ensure_role(admin: psycopg.Connection, role: str, password: str) -> None:
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    admin.execute(sql.SQL(verb + " ROLE {} LOGIN NOBYPASSRLS PASSWORD {}").format(
        sql.Identifier(role), sql.Literal(password)))


def migrate(settings: Settings, migration_dirs: Sequence[Path]) -> list[str]:
    """Apply each not yet applied ``NNN_name.sql`` in order, one transaction each, and grant the app role.

    A transaction-scoped advisory lock makes concurrent starts apply each file once.
    """
    applied_now = []
    with connect(settings.owner_dsn) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('branchwork.migrations'))")
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            done = {row["name"] for row in conn.execute("SELECT name FROM schema_migrations")}
            for directory in migration_dirs:
                for path in sorted(Path(directory).glob("*.sql")):
                    name = f"{Path(directory).parent.name}/{path.name}"
                    if name in done:
                        continue
                    conn.execute(path.read_text(encoding="utf-8"))
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                    applied_now.append(name)
            _grant_app_role(conn, settings.app_role)
    if applied_now:
        log.info("applied migrations %s to %s", applied_now, settings.database)
    return applied_now


DEAD_LETTER_METADATA = ("id", "consumer", "topic", "partition", "offset", "event_id", "tenant_id", "error",
                        "attempts", "recorded_at", "replayed_at")


def _grant_app_role(conn: psycopg.Connection, app_role: str) -> None:
    """The API role may read and write ordinary tables but never change or delete recorded events.

    Of the dead letters it reads only the metadata: a parked payload is some bureau's data, and the
    ops listing that uses this role is not scoped to a bureau.
    """
    role = sql.Identifier(app_role)
    conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(role))
    conn.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role))
    conn.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON events, outbox, schema_migrations FROM {}").format(role))
    conn.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON relay_wakeup FROM {}").format(role))
    conn.execute(sql.SQL("REVOKE ALL ON dead_letters FROM {}").format(role))
    conn.execute(sql.SQL("GRANT SELECT ({}) ON dead_letters TO {}").format(
        sql.SQL(", ").join(map(sql.Identifier, DEAD_LETTER_METADATA)), role))
