"""Capturing every directory change for incremental cycles (F16).

Database triggers on the user, group, membership and assignment tables write a ``DirectoryChange``
row in the same transaction as the change: inserts, updates and deletes, including those made by
``bulk_create``, ``QuerySet.update``/``delete`` and raw SQL, which Django signals would miss.

On PostgreSQL a statement-level trigger first locks the change-log table in SHARE ROW EXCLUSIVE
mode (which conflicts with itself but not with readers), so directory writers commit in sequence
order: a cycle that reads up to ``seq = n`` can never miss a change with a smaller ``seq`` that
commits later. SQLite has a single writer, so its sequence order is commit order already.
"""

from django.db.models import Max, QuerySet

from ..models import DirectoryChange

CHANGE_TABLE = "provisioning_directorychange"

# table -> (changed_object, [(change column, row column), ...])
TRACKED_TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "provisioning_directoryuser": ("user", [("user_id", "id")]),
    "provisioning_directorygroup": ("group", [("group_id", "id")]),
    "provisioning_groupmembership": (
        "membership",
        [
            ("group_id", "group_id"),
            ("user_id", "member_user_id"),
            ("member_group_id", "member_group_id"),
        ],
    ),
    "provisioning_assignment": (
        "assignment",
        [("application_id", "application_id"), ("user_id", "user_id"), ("group_id", "group_id")],
    ),
}

_OPERATIONS = (("INSERT", "I", ["NEW"]), ("UPDATE", "U", ["OLD", "NEW"]), ("DELETE", "D", ["OLD"]))


def _insert_sql(changed_object: str, columns, op_code: str, row: str, timestamp: str) -> str:
    names = ", ".join(["changed_object", "operation", "recorded_at"] + [c for c, _ in columns])
    values = ", ".join(
        [f"'{changed_object}'", f"'{op_code}'", timestamp] + [f"{row}.{r}" for _, r in columns]
    )
    return f"INSERT INTO {CHANGE_TABLE} ({names}) VALUES ({values});"


def _sqlite_statements() -> list[str]:
    statements = []
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    for table, (changed_object, columns) in TRACKED_TABLES.items():
        for operation, code, rows in _OPERATIONS:
            # Users and groups keep their id on update: recording NEW is enough. Memberships and
            # assignments may be re-pointed, so an update records the old and the new row.
            if operation == "UPDATE" and changed_object in ("user", "group"):
                rows = ["NEW"]
            body = " ".join(_insert_sql(changed_object, columns, code, row, now) for row in rows)
            statements.append(
                f"CREATE TRIGGER {table}_{code.lower()}_change AFTER {operation} ON {table} "
                f"FOR EACH ROW BEGIN {body} END;"
            )
    return statements


def _postgresql_statements() -> list[str]:
    statements = [
        f"""
        CREATE OR REPLACE FUNCTION provisioning_lock_change_log() RETURNS trigger AS $$
        BEGIN
            LOCK TABLE {CHANGE_TABLE} IN SHARE ROW EXCLUSIVE MODE;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql;
        """
    ]
    now = "clock_timestamp()"
    for table, (changed_object, columns) in TRACKED_TABLES.items():
        on_update = ["NEW"] if changed_object in ("user", "group") else ["OLD", "NEW"]
        function = f"{table}_record_change"
        statements.append(
            f"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    {_insert_sql(changed_object, columns, "I", "NEW", now)}
                    RETURN NEW;
                ELSIF TG_OP = 'UPDATE' THEN
                    {" ".join(_insert_sql(changed_object, columns, "U", r, now) for r in on_update)}
                    RETURN NEW;
                ELSE
                    {_insert_sql(changed_object, columns, "D", "OLD", now)}
                    RETURN OLD;
                END IF;
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        statements.append(
            f"CREATE TRIGGER {table}_lock_change_log BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION provisioning_lock_change_log();"
        )
        statements.append(
            f"CREATE TRIGGER {table}_record_change AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}();"
        )
    return statements


def trigger_statements(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return _postgresql_statements()
    if vendor == "sqlite":
        return _sqlite_statements()
    raise NotImplementedError(f"Directory change capture is not implemented for {vendor}.")


def drop_statements(vendor: str) -> list[str]:
    if vendor == "postgresql":
        statements = []
        for table in TRACKED_TABLES:
            statements.append(f"DROP TRIGGER IF EXISTS {table}_lock_change_log ON {table};")
            statements.append(f"DROP TRIGGER IF EXISTS {table}_record_change ON {table};")
            statements.append(f"DROP FUNCTION IF EXISTS {table}_record_change();")
        statements.append("DROP FUNCTION IF EXISTS provisioning_lock_change_log();")
        return statements
    return [
        f"DROP TRIGGER IF EXISTS {table}_{code.lower()}_change;"
        for table in TRACKED_TABLES
        for _, code, _ in _OPERATIONS
    ]


def install_triggers(apps, schema_editor) -> None:
    for statement in trigger_statements(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def remove_triggers(apps, schema_editor) -> None:
    for statement in drop_statements(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def current_watermark() -> int:
    """The newest committed change's sequence number (0 when nothing ever changed)."""
    return DirectoryChange.objects.aggregate(top=Max("seq"))["top"] or 0


def changes_between(after: int, up_to: int) -> QuerySet[DirectoryChange]:
    """Changes with ``after < seq <= up_to``, oldest first."""
    return DirectoryChange.objects.filter(seq__gt=after, seq__lte=up_to).order_by("seq")
