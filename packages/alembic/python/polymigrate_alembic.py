"""Reads an Alembic project's revision graph (and the database's current revisions) with Alembic's own API.

Shipped with @polymigrate/alembic. Prints one JSON object on stdout. The database URL is read from an environment
variable (never from the command line).

    python polymigrate_alembic.py --config alembic.ini [--name alembic] [--url-env DIRECT_URL] [--current]
        [--version-table alembic_version] [--version-table-schema SCHEMA]
"""
import argparse
import json
import os
import sys


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def first_line(doc):
    for line in (doc or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def read_graph(config):
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)
    revisions = []
    for rev in script.walk_revisions(base="base", head="heads"):
        revisions.append(
            {
                "revision": rev.revision,
                "downRevisions": as_list(rev.down_revision),
                "dependsOn": as_list(rev.dependencies),
                "branchLabels": sorted(rev.branch_labels),
                "message": first_line(rev.doc),
                "path": os.path.abspath(rev.path),
                "isHead": rev.is_head,
                "isMerge": rev.is_merge_point,
                "isBranchPoint": rev.is_branch_point,
            }
        )
    # walk_revisions goes from the heads down; the caller wants bases first.
    revisions.reverse()
    return {"revisions": revisions, "heads": list(script.get_heads()), "bases": list(script.get_bases())}


def read_current(url, version_table, version_table_schema):
    from sqlalchemy import create_engine
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            opts = {"version_table": version_table}
            if version_table_schema:
                opts["version_table_schema"] = version_table_schema
            context = MigrationContext.configure(connection, opts=opts)
            return sorted(context.get_current_heads())
    finally:
        engine.dispose()


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--name", default="alembic")
    parser.add_argument("--url-env", default="DIRECT_URL")
    parser.add_argument("--current", action="store_true")
    parser.add_argument("--version-table", default="alembic_version")
    parser.add_argument("--version-table-schema", default=None)
    args = parser.parse_args(argv)

    from alembic.config import Config
    import alembic

    config = Config(args.config, ini_section=args.name)
    result = {"alembicVersion": alembic.__version__}
    result.update(read_graph(config))
    if args.current:
        url = os.environ.get(args.url_env)
        if not url:
            print("the variable %s is not set" % args.url_env, file=sys.stderr)
            return 2
        result["current"] = read_current(url, args.version_table, args.version_table_schema)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
