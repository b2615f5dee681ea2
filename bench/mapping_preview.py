"""Preview before save (issue 10): how long the mapping editor's preview takes for 10,000
provisioned users.

Builds 10,000 directory users (assigned through 100 groups), an application from the SCIM
gallery and one link per user whose last exported values are what the default mapping produces
(as after an initial cycle; the preview never talks to the target, so none runs). Then times
``preview_mapping_change`` for three drafts: unchanged, a changed expression (every account
updated) and a scoping filter (most accounts fall out of scope). The budget is 5 s each.

    .venv/bin/python bench/mapping_preview.py                       # SQLite
    .venv/bin/python bench/mapping_preview.py --database postgres   # bench_mapping_preview
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

common.POSTGRES_DB = "bench_mapping_preview"  # its own scratch database
SQLITE_NAME = "mapping-preview.sqlite3"


def provision_links(application) -> int:
    """One link per in-scope user, with the default mapping's values as last exported."""
    from provisioning.choices import LinkState, ObjectType
    from provisioning.engine.evaluate import AttributeRule, evaluate_object
    from provisioning.engine.importing import candidate_user_ids, chunked, load_users
    from provisioning.models import ProvisionedObject

    job = application.provisioning_job
    mapping = job.mappings.get(object_type=ObjectType.USER)
    rules = [AttributeRule.from_mapping(a) for a in mapping.attributes.all()]
    ids = candidate_user_ids(application.pk, False, [])
    count = 0
    for chunk in chunked(ids):
        objects = load_users(application.pk, chunk)
        links = []
        for source_id, obj in objects.items():
            source = {**obj.attributes, "IsSoftDeleted": False, "appRoleAssignments": obj.roles}
            evaluated = evaluate_object(rules, source, for_create=False, reference_targets={})
            links.append(
                ProvisionedObject(
                    job=job,
                    object_type=ObjectType.USER,
                    source_id=source_id,
                    target_id=f"target-{source_id}",
                    last_exported=evaluated.attributes,
                    state=LinkState.PROVISIONED,
                )
            )
        ProvisionedObject.objects.bulk_create(links, batch_size=1000)
        count += len(links)
    return count


def drafts(mapping):
    from provisioning.choices import MappingType
    from provisioning.mappings.drafts import MappingDraft

    unchanged = MappingDraft.from_model(mapping)
    expression = MappingDraft.from_model(mapping)
    for row in expression.attributes:
        if row.target_attribute == "displayName":
            row.mapping_type = MappingType.EXPRESSION
            row.source_attribute = ""
            row.expression = 'Join(", ", [surname], [givenName])'
    scoped = MappingDraft.from_model(mapping)
    scoped.scoping_filters = [
        [{"attribute": "department", "operator": "Includes", "value": "Research"}]
    ]
    return {"unchanged": unchanged, "changed expression": expression, "scoping filter": scoped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    common.configure_environment(args.database, SQLITE_NAME)
    common.recreate_database(args.database, SQLITE_NAME)
    common.setup_django(migrate=True)
    from provisioning.choices import ObjectType
    from provisioning.mappings.preview import preview_mapping_change

    common.log(f"building {args.users} users")
    _user_ids, group_ids = common.build_directory(args.users, 100)
    application = common.add_bench_application(
        "Preview bench", group_ids, {"tenant_url": "http://127.0.0.1:9/v2", "secret_token": "x"}
    )
    links = provision_links(application)
    common.log(f"{links} links written")
    mapping = application.provisioning_job.mappings.get(object_type=ObjectType.USER)
    print(f"\nDatabase: {common.database_version()}; load average before: {os.getloadavg()}")
    print(
        f"\n| draft | examined | updated | disabled | created | seconds (best of {args.repeat}) |"
    )
    print("|---|---|---|---|---|---|")
    for name, draft in drafts(mapping).items():
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = preview_mapping_change(mapping, draft)
            timings.append(time.perf_counter() - started)
        print(
            f"| {name} | {result.examined} | {result.updated} | {result.disabled} | "
            f"{result.created} | {min(timings):.2f} (max {max(timings):.2f}) |"
        )
    print(f"\nload average after: {os.getloadavg()}")
    if not args.keep_db:
        common.drop_database(args.database)


if __name__ == "__main__":
    main()
