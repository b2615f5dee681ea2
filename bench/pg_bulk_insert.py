"""Diagnostic: the cost of bulk-inserting provisioning log entries on PostgreSQL, two ways.

    .venv/bin/python bench/pg_bulk_insert.py [--entries 5000]

Django 5.2 inserts ``bulk_create`` batches on PostgreSQL with ``UNNEST(%s::jsonb[], …)``: every
JSON value travels inside a text array literal, which psycopg builds by escaping each ``"`` and
``\\`` with a regular expression — JSON is full of quotes. A field that defines
``get_placeholder`` makes Django fall back to plain ``VALUES`` rows, where psycopg adapts each JSON
value on its own. This script times both on the scratch database ``bench_portal`` (dropped at the
end) with log entries shaped like the engine's (four steps, ten modified properties).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=5000)
    args = parser.parse_args()
    common.configure_environment("postgres", "unused.sqlite3")
    common.recreate_database("postgres", "unused.sqlite3")
    common.setup_django(migrate=True)
    from django.db.models import JSONField
    from django.utils import timezone

    from provisioning.models import ProvisioningLogEntry, SyncCycle
    from provisioning.services.applications import add_application

    application = add_application("scim", "bulk insert probe")
    job = application.provisioning_job
    cycle = SyncCycle.objects.create(job=job, kind="initial", state="Running")
    steps = [
        {"name": name, "status": "Success", "detail": f"{name} of user@contoso.example"}
        for name in ("Import", "Scope", "Match", "Action")
    ]
    properties = [
        {"name": path, "old": None, "new": f"value of {path}"}
        for path in (
            "userName",
            "active",
            "displayName",
            "title",
            'emails[type eq "work"].value',
            "name.givenName",
            "name.familyName",
            "externalId",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            'roles[primary eq "True"].value',
        )
    ]

    def entries():
        return [
            ProvisioningLogEntry(
                created_at=timezone.now(),
                job_id=job.pk,
                application_id=application.pk,
                application_name=application.name,
                cycle_id=cycle.pk,
                object_type="User",
                source_display=f"user{i}@contoso.example",
                target_id=f"{i:032x}",
                action="Create",
                status="Success",
                steps=steps,
                modified_properties=properties,
            )
            for i in range(args.entries)
        ]

    def timed(label: str) -> None:
        best = None
        for _attempt in range(3):
            objects = entries()
            cpu = common.process_cpu_seconds()
            started = time.perf_counter()
            ProvisioningLogEntry.objects.bulk_create(objects, batch_size=500)
            row = (time.perf_counter() - started, common.process_cpu_seconds() - cpu)
            best = row if best is None or row[0] < best[0] else best
        print(
            f"{label}: {args.entries} entries, best of 3: wall {best[0]:.2f} s, "
            f"client CPU {best[1]:.2f} s"
        )

    try:
        timed("Django 5.2 default (UNNEST of jsonb[] text arrays)")
        JSONField.get_placeholder = lambda self, value, compiler, connection: "%s"
        timed("JSONField with get_placeholder (VALUES rows)")
        del JSONField.get_placeholder
    finally:
        common.drop_database("postgres")


if __name__ == "__main__":
    main()
