"""Directory > Users at 100,000 users (issue 15): server time of the list, its search, filters and
deep pages, and of a user's page.

Builds the directory with ``common.build_directory`` (every user in one of the groups, one in ten
with a manager, one in fifty disabled, some in the recycle bin), then times each request through
Django's full stack (middleware, view, queries, template) with the test client, signed in as an
administrator: ``--repeat`` timed runs after one warm-up, median and worst reported. The goal is
≤ 200 ms server time for each.

    .venv/bin/python bench/directory_users.py                       # SQLite, 100,000 users
    .venv/bin/python bench/directory_users.py --database postgres
    .venv/bin/python bench/directory_users.py --users 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SQLITE_NAME = "directory-users.sqlite3"


def build(users: int) -> None:
    from django.utils import timezone

    from provisioning.models import DirectoryUser

    common.log(f"building {users} users")
    user_ids, _group_ids = common.build_directory(users, max(users // 1000, 1))
    # One in ten, drawn at random (not every tenth, which would give them all the same first
    # name and department), has the user ten places before as manager.
    draw = random.Random(15)
    managed = [
        (uid, user_ids[max(i - 10, 0)])
        for i, uid in enumerate(user_ids)
        if i >= 10 and draw.random() < 0.1
    ]
    for start in range(0, len(managed), 5000):
        chunk = managed[start : start + 5000]
        objects = [DirectoryUser(pk=uid, manager_id=mid) for uid, mid in chunk]
        DirectoryUser.objects.bulk_update(objects, ["manager"], batch_size=1000)
    DirectoryUser.objects.filter(pk__in=user_ids[::50]).update(account_enabled=False)
    DirectoryUser.objects.filter(pk__in=user_ids[7::500]).update(deleted_at=timezone.now())
    common.log("built")


def measure(repeat: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from provisioning.models import DirectoryUser
    from provisioning.roles import ensure_roles

    administrators, _auditors = ensure_roles()
    admin, _created = get_user_model().objects.get_or_create(username="bench-admin")
    admin.groups.add(administrators)
    # HTTPS, as production serves it (with DEBUG off, plain HTTP is redirected).
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)

    ordered = DirectoryUser.objects.alive().order_by("display_name", "id")
    total = ordered.count()
    middle = ordered.values_list("display_name", "id")[total // 2]
    deep_cursor = f"{middle[0]}|{middle[1]}"
    # A user with direct reports, and a manager.
    someone = ordered.filter(direct_reports__isnull=False, manager__isnull=False).first()
    users_url = reverse("directory-users")
    cases = [
        ("first page", users_url, {}),
        ("page in the middle (keyset)", users_url, {"after": deep_cursor}),
        ("search by name (substring)", users_url, {"q": "Farah"}),
        ("search by UPN, rare", users_url, {"q": "user000123@"}),
        ("search by employee id", users_url, {"q": str(100000 + total // 3)}),
        ("filter department", users_url, {"department": "Legal"}),
        ("filter disabled", users_url, {"enabled": "no"}),
        (
            "filter has manager + department",
            users_url,
            {"has_manager": "yes", "department": "Sales"},
        ),
        ("deleted users", reverse("directory-deleted-users"), {}),
        ("a user's page", reverse("directory-user", args=[someone.pk]), {}),
    ]
    results = []
    for name, url, params in cases:
        response = client.get(url, params, secure=True)
        assert response.status_code == 200, (name, response.status_code, response.get("Location"))
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url, params, secure=True)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        results.append(
            {
                "case": name,
                "median_ms": round(statistics.median(timings), 1),
                "worst_ms": round(max(timings), 1),
                "bytes": len(response.content),
            }
        )
        common.log(f"{name}: median {results[-1]['median_ms']} ms, worst {results[-1]['worst_ms']}")
    results.append({"case": "users", "count": total, "vendor": connection.vendor})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--json", default=str(common.BENCH_DIR / "directory-users.json"))
    args = parser.parse_args()

    common.configure_environment(args.database, SQLITE_NAME)
    common.recreate_database(args.database, SQLITE_NAME)
    common.setup_django(migrate=True)
    from django.core.management import call_command

    # DEBUG is off: pages name their static files from the manifest, as in production.
    call_command("collectstatic", "--noinput", verbosity=0)
    try:
        build(args.users)
        if args.database == "postgres":
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        results = measure(args.repeat)
        facts = {
            **common.machine_facts(),
            "database": common.database_version(),
            "load_average": os.getloadavg(),
        }
        common.write_json(args.json, {"results": results, "machine": facts, "args": vars(args)})
        print(f"\n{args.users} users, {common.database_version()}, load {os.getloadavg()}\n")
        print("| request | median ms | worst ms |\n|---|---:|---:|")
        for row in results:
            if "median_ms" in row:
                print(f"| {row['case']} | {row['median_ms']} | {row['worst_ms']} |")
    finally:
        if not args.keep_db:
            common.drop_database(args.database)


if __name__ == "__main__":
    main()
