"""Reads an Alembic project's revision graph (and the database's current revisions) with Alembic's own API, or runs its
revisions for one `migrate` run (`--serve`).

Shipped with @polymigrate/alembic. The database URL is read from an environment variable (never from the command line).

    python polymigrate_alembic.py --config alembic.ini [--name alembic] [--url-env DIRECT_URL] [--current]
        [--version-table alembic_version] [--version-table-schema SCHEMA]
        Prints one JSON object on stdout.

    python polymigrate_alembic.py --config alembic.ini [--name alembic] --serve [--lifeline-fd 3]
        Reads one JSON request per line on stdin and answers one JSON line per request on stdout; everything else the
        process prints (Alembic's log, env.py's prints) goes to stderr. Exits when stdin closes, when the life-line fd
        reaches EOF, or when its parent dies.

Requests of --serve:
    {"op": "graph"}
    {"op": "upgrade", "revision": R, "recordStartedSql": S, "guardSql": G}
    {"op": "downgrade", "target": T, "revision": R, "recordStartedSql": S, "guardSql": G}
    {"op": "render", "from": "base" | R0, "to": R1}
"""
import argparse
import io
import json
import os
import signal
import sys
import threading
import time
import traceback


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


def read_graph(config, script=None):
    from alembic.script import ScriptDirectory

    script = script or ScriptDirectory.from_config(config)
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


# --- serve mode ------------------------------------------------------------------------------------------------------


class GuardFailed(Exception):
    """The run's guard SQL failed (the run lost its migration lock): nothing of the step may commit."""

    def __init__(self, orig):
        super().__init__(getattr(getattr(orig, "diag", None), "message_primary", None) or str(orig).strip())
        self.orig = orig


class Step:
    """The step in progress: its guard, its started record, and what happened so far."""

    def __init__(self, request):
        self.guard_sql = request.get("guardSql") or None
        self.record_started_sql = request.get("recordStartedSql") or None
        self.is_started_recorded = False
        self.is_transactional = True
        self.is_interrupted = False
        # Set once a commit's guard passed: from then on an interrupt must not turn a committed step into a failure.
        self.is_committing = False
        self.dbapi_connection = None
        # What may have landed before a failure: statements of transactions whose commit began (an autocommit block
        # commits the transaction before it), and statements that completed in autocommit mode. Counted high when in
        # doubt, so that the core keeps the started record rather than clear it.
        self.statements_in_transaction = 0
        self.statements_landed = 0
        # Set when Alembic has the revision to run: its own reads of the version table before it are not counted.
        self.is_in_revision = False


class State:
    step = None
    lock = threading.Lock()


def run_sql(dbapi_connection, sql):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def run_guard(step, dbapi_connection):
    if not step.guard_sql:
        return
    try:
        run_sql(dbapi_connection, step.guard_sql)
    except Exception as error:
        try:
            dbapi_connection.rollback()
        except Exception:
            pass
        raise GuardFailed(error) from error


def install_guards():
    """Hooks every SQLAlchemy engine (env.py creates its own): the guard before each commit and before each statement
    run in autocommit mode, the started record before a step's first autocommit statement."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_commit(conn):
        step = State.step
        if step is None:
            return
        dbapi_connection = conn.connection.dbapi_connection
        step.dbapi_connection = dbapi_connection
        if getattr(dbapi_connection, "autocommit", False):
            # A commit of Alembic's stand-in transaction in an autocommit block: nothing is pending.
            return
        run_guard(step, dbapi_connection)
        step.is_committing = True
        step.statements_landed += step.statements_in_transaction
        step.statements_in_transaction = 0

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        step = State.step
        if step is None:
            return
        dbapi_connection = cursor.connection
        step.dbapi_connection = dbapi_connection
        step.is_committing = False
        if not getattr(dbapi_connection, "autocommit", False):
            return
        run_guard(step, dbapi_connection)
        if not step.is_started_recorded:
            step.is_started_recorded = True
            step.is_transactional = False
            if step.record_started_sql:
                run_sql(dbapi_connection, step.record_started_sql)

    def after_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        step = State.step
        if step is None or not step.is_in_revision:
            return
        if getattr(cursor.connection, "autocommit", False):
            step.statements_landed += 1
        else:
            step.statements_in_transaction += 1

    event.listen(Engine, "commit", on_commit)
    event.listen(Engine, "before_cursor_execute", before_cursor_execute)
    event.listen(Engine, "after_cursor_execute", after_cursor_execute)


def install_interrupt():
    """SIGINT stops the step in progress: a watcher thread cancels its running statement at once (psycopg2's cancel is
    made to be called from another thread, while the main thread waits inside libpq), and the main thread gets a
    KeyboardInterrupt when it next runs Python code. Between steps, and once a commit is under way, it is ignored."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def on_sigint(signum, frame):
        step = State.step
        if step is not None and not step.is_committing:
            step.is_interrupted = True
            raise KeyboardInterrupt()

    signal.signal(signal.SIGINT, on_sigint)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def watch():
        while True:
            data = os.read(read_fd, 64)
            if not data:
                return
            if signal.SIGINT not in data:
                continue
            step = State.step
            if step is None or step.is_committing:
                continue
            step.is_interrupted = True
            if step.dbapi_connection is not None:
                try:
                    step.dbapi_connection.cancel()
                except Exception:
                    pass

    threading.Thread(target=watch, name="polymigrate-interrupt", daemon=True).start()


def watch_parent(lifeline_fd, parent_pid):
    """The helper never outlives its parent: the kernel kills it when the parent dies (Linux), and the life-line pipe
    (which the parent never writes) reaches EOF when the parent's end closes, however the parent ended."""
    parent = parent_pid or os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except Exception:
            pass
    # The parent may have died before prctl took effect: then we were adopted already.
    if os.getppid() != parent:
        os._exit(1)
    if lifeline_fd is None:
        return
    os.set_inheritable(lifeline_fd, False)

    def watch():
        while True:
            try:
                data = os.read(lifeline_fd, 4096)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                step = State.step
                if step is not None and step.dbapi_connection is not None:
                    try:
                        step.dbapi_connection.cancel()
                    except Exception:
                        pass
                os._exit(1)

    threading.Thread(target=watch, name="polymigrate-lifeline", daemon=True).start()


class Output(io.TextIOBase):
    """sys.stderr of the helper: passes everything on to the real stderr, and keeps the current request's output for
    its report (logging handlers that env.py's fileConfig made hold on to this one object)."""

    def __init__(self, target):
        self.target = target
        self.parts = []
        self.size = 0

    def reset(self):
        self.parts = []
        self.size = 0

    def write(self, text):
        self.target.write(text)
        self.parts.append(text)
        self.size += len(text)
        # Only the tail is reported: keep memory flat on a chatty revision.
        while self.size > 65536 and len(self.parts) > 1:
            self.size -= len(self.parts.pop(0))
        return len(text)

    def flush(self):
        self.target.flush()

    def text(self):
        return "".join(self.parts)


OUTPUT = Output(sys.__stderr__)


def find_database_error(error):
    """The psycopg2 error behind `error` (SQLAlchemy wraps it as `.orig`; a guard's is `.orig` too), if any."""
    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if getattr(current, "pgcode", None) is not None or type(current).__module__.startswith("psycopg2"):
            return current
        stack.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return None


def line_in_file(tb, path):
    line = None
    if not path:
        return None
    target = os.path.realpath(path)
    for frame in traceback.extract_tb(tb):
        if os.path.realpath(frame.filename) == target:
            line = frame.lineno
    return line


def describe_failure(error, revision_path):
    database_error = find_database_error(error)
    failure = {}
    if database_error is not None:
        diag = getattr(database_error, "diag", None)
        message = getattr(diag, "message_primary", None) or str(database_error).strip().splitlines()[0]
        failure["message"] = message
        if getattr(database_error, "pgcode", None):
            failure["sqlState"] = database_error.pgcode
        detail = getattr(diag, "message_detail", None)
        hint = getattr(diag, "message_hint", None)
        if detail:
            failure["detail"] = detail
        if hint:
            failure["hint"] = hint
    else:
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
        failure["message"] = text or type(error).__name__
    statement = getattr(error, "statement", None)
    if statement and not isinstance(error, GuardFailed):
        failure["statement"] = statement.strip()
    if isinstance(error, GuardFailed):
        failure["isGuard"] = True
    line = line_in_file(error.__traceback__, revision_path)
    if line is not None:
        failure["line"] = line
    return failure


class Engines:
    """The engines env.py made, kept across steps: one connection for the whole run, as `alembic upgrade head` has,
    instead of a new connection (and SQLAlchemy's first-connect queries) per revision."""

    cache = {}

    @classmethod
    def install(cls):
        import sqlalchemy
        import sqlalchemy.engine
        import sqlalchemy.engine.create
        from sqlalchemy.pool import NullPool, StaticPool

        create_engine = sqlalchemy.engine.create.create_engine

        def cached_create_engine(url, **options):
            key = (str(url) if not hasattr(url, "render_as_string") else url.render_as_string(hide_password=False), repr(sorted(options.items())))
            engine = cls.cache.get(key)
            if engine is None:
                if options.get("poolclass") is NullPool:
                    # env.py asked for no pooling so that its one run leaves no connection behind; here the run is
                    # the helper's, which disposes of it at the end.
                    options = dict(options, poolclass=StaticPool)
                engine = create_engine(url, **options)
                cls.cache[key] = engine
            return engine

        # engine_from_config looks create_engine up in its module at call time; env.py's own imports find the others.
        sqlalchemy.engine.create.create_engine = cached_create_engine
        sqlalchemy.engine.create_engine = cached_create_engine
        sqlalchemy.create_engine = cached_create_engine

    @classmethod
    def dispose(cls):
        engines = list(cls.cache.values())
        cls.cache.clear()
        for engine in engines:
            try:
                engine.dispose()
            except Exception:
                pass


EOF = {"op": "eof"}

# The exit code that tells the parent this Python has no Alembic (so that it tries the next one).
CANNOT_IMPORT_ALEMBIC = 3


def destination_of(request):
    return request.get("revision") if request["op"] == "upgrade" else request.get("target") or "base"


def heads_after(step, heads):
    """The database's heads after one revision step (Alembic keeps them in alembic_version the same way)."""
    parents = set(as_list(step.revision.down_revision))
    revision = step.revision.revision
    return (heads - parents) | {revision} if step.is_upgrade else (heads - {revision}) | parents


def is_idle(dbapi_connection):
    """Whether the connection has no transaction open (what it ran is committed)."""
    if dbapi_connection is None:
        return False
    try:
        import psycopg2.extensions

        return dbapi_connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    except Exception:
        return False


def close_quietly(dbapi_connection):
    if dbapi_connection is None:
        return
    try:
        dbapi_connection.close()
    except Exception:
        pass


class Server:
    def __init__(self, config, protocol):
        from alembic.script import ScriptDirectory

        self.config = config
        self.protocol = protocol
        # One ScriptDirectory for the whole run: Alembic's command functions would read every revision file again on
        # each call (quadratic on a long history).
        self.script = ScriptDirectory.from_config(config)

    def answer(self, response):
        self.protocol.write(json.dumps(response) + "\n")
        self.protocol.flush()

    def revision_path(self, revision):
        try:
            script = self.script.get_revision(revision)
        except Exception:
            return None
        return getattr(script, "path", None)

    def run_env(self, fn, **options):
        from alembic.runtime.environment import EnvironmentContext

        environment = EnvironmentContext(self.config, self.script, fn=fn, **options)
        if not options.get("as_sql"):
            configure = environment.configure

            def configure_per_revision(*args, **kwargs):
                # Each revision commits on its own (as with one `alembic upgrade <rev>` per revision), even when
                # env.py runs them in one transaction.
                kwargs["transaction_per_migration"] = True
                return configure(*args, **kwargs)

            # Installed as `alembic.context.configure` for env.py when the environment is entered.
            environment.configure = configure_per_revision
        with environment:
            self.script.run_env()

    def single_step(self, direction, revision, destination, heads):
        """The one step that runs `revision` when the database is exactly next to it (its parents are the heads, or it
        is the one head and `destination` its parent), without Alembic's walk of the whole graph (which makes a run of
        N revisions quadratic); None otherwise, and Alembic decides."""
        from alembic.runtime.migration import MigrationStep

        try:
            script = self.script.get_revision(revision)
        except Exception:
            return None
        if script is None or script.dependencies:
            return None
        parents = set(as_list(script.down_revision))
        current = set(heads or ())
        if direction == "upgrade" and destination == revision and current == parents:
            return [MigrationStep.upgrade_from_script(self.script.revision_map, script)]
        expected = (script.down_revision or "base") if len(parents) <= 1 else None
        if direction == "downgrade" and current == {revision} and destination == expected:
            return [MigrationStep.downgrade_from_script(self.script.revision_map, script)]
        return None

    def migrate(self, first, read_request):
        """Runs the step request `first` and the step requests that follow it in one run of env.py (one connection,
        env.py and alembic.ini read once) while each revision is next to the database's heads, answering each once its
        transaction committed. Returns the first request it did not run (EOF at the end of stdin)."""
        direction = first["op"]
        progress = {"step": None, "request": None, "started": 0.0, "ran": [], "next": None}

        def begin(request):
            progress.update(request=request, started=time.perf_counter(), ran=[])
            OUTPUT.reset()
            progress["step"] = State.step = Step(request)

        def finish(response):
            step = progress["step"]
            State.step = None
            progress["step"] = None
            response["durationMs"] = round((time.perf_counter() - progress["started"]) * 1000, 1)
            response["transactional"] = step.is_transactional
            response["ran"] = progress["ran"]
            self.answer(response)

        def steps(heads, context):
            heads = set(heads or ())
            request = first
            while True:
                found = self.single_step(direction, request.get("revision"), destination_of(request), heads)
                if found is None:
                    if request is not first:
                        # Not next to the heads: a fresh run of env.py lets Alembic's own walk decide.
                        progress["next"] = request
                        return
                    found = (
                        self.script._upgrade_revs(destination_of(request), tuple(heads))
                        if direction == "upgrade"
                        else self.script._downgrade_revs(destination_of(request), tuple(heads))
                    )
                if request is not first:
                    begin(request)
                for step in found:
                    progress["ran"].append(step.revision.revision)
                    progress["step"].is_in_revision = True
                    yield step
                # Resumed: Alembic closed the step's transaction. Answer now only if it really committed (env.py may
                # hold an outer transaction of its own); otherwise after env.py's run ends.
                if found and not is_idle(progress["step"].dbapi_connection):
                    return
                finish({"isSuccess": True})
                if len(found) != 1:
                    progress["next"] = read_request()
                    return
                heads = heads_after(found[0], heads)
                request = read_request()
                if request is EOF or request.get("op") != direction:
                    progress["next"] = request
                    return

        begin(first)
        try:
            try:
                self.run_env(steps, destination_rev=destination_of(first))
            finally:
                # From here on, a SIGINT is between steps.
                State.step = None
            if progress["step"] is not None:
                finish({"isSuccess": True})
        except BaseException as error:
            step = progress["step"]
            if step is None:
                # The steps were answered; env.py failed after them (nothing of theirs is pending).
                traceback.print_exc()
                Engines.dispose()
            elif isinstance(error, SystemExit) and not step.is_interrupted and error.code in (0, None):
                finish({"isSuccess": True})
            else:
                traceback.print_exc()
                request = progress["request"]
                response = {"isSuccess": False, "error": describe_failure(error, self.revision_path(request.get("revision")))}
                response["error"]["statementsApplied"] = step.statements_landed
                if step.is_interrupted or isinstance(error, KeyboardInterrupt):
                    response["isInterrupted"] = True
                    # Whichever came first (the cancelled statement's 57014 or the KeyboardInterrupt), the cause is one.
                    response["error"] = {key: value for key, value in response["error"].items() if key == "line"}
                    response["error"]["message"] = "interrupted while the revision ran"
                # A connection left open by the failure would keep its transaction (and its locks) until collected;
                # the next step starts on a new one.
                close_quietly(step.dbapi_connection)
                Engines.dispose()
                response["stderr"] = OUTPUT.text()[-16384:]
                progress["step"] = step
                finish(response)
        finally:
            sys.stdout = sys.__stderr__
        return progress["next"] if progress["next"] is not None else read_request()

    def render(self, request):
        start = request.get("from") or "base"
        destination = request["to"]
        buffer = io.StringIO()

        def steps(rev, context):
            return self.script._upgrade_revs(destination, rev)

        OUTPUT.reset()
        previous = self.config.output_buffer
        self.config.output_buffer = buffer
        try:
            self.run_env(
                steps,
                as_sql=True,
                starting_rev=None if start == "base" else start,
                destination_rev=destination,
            )
            return {"isSuccess": True, "sql": buffer.getvalue()}
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise
            traceback.print_exc()
            return {
                "isSuccess": False,
                "error": describe_failure(error, self.revision_path(destination)),
                "stderr": OUTPUT.text()[-16384:],
            }
        finally:
            self.config.output_buffer = previous
            sys.stdout = sys.__stderr__

    def handle(self, request):
        op = request.get("op")
        if op == "graph":
            import alembic

            result = {"alembicVersion": alembic.__version__}
            result.update(read_graph(self.config, self.script))
            return {"isSuccess": True, "graph": result}
        if op == "render":
            return self.render(request)
        if op == "invalid":
            return {"isSuccess": False, "error": {"message": request["message"]}}
        return {"isSuccess": False, "error": {"message": "unknown request %r" % (op,)}}


def serve(args):
    # The protocol keeps the real stdout; fd 1 and sys.stdout become stderr, so that nothing env.py, a revision or a
    # logging handler prints can corrupt it.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.__stderr__
    sys.stderr = OUTPUT
    watch_parent(args.lifeline_fd, args.parent_pid)
    try:
        from alembic.config import Config
        import alembic
        import alembic.command
    except ImportError as error:
        print("this Python cannot import Alembic: %s" % error, file=sys.stderr)
        return CANNOT_IMPORT_ALEMBIC
    # As `python -m alembic` does: the project folder first on sys.path, for env.py's own imports (after Alembic's
    # own import, so that the project's alembic/ folder cannot stand in for a missing Alembic).
    sys.path.insert(0, os.getcwd())
    install_interrupt()

    install_guards()
    Engines.install()
    config = Config(args.config, ini_section=args.name)
    try:
        server = Server(config, protocol)
    except Exception as error:
        traceback.print_exc()
        protocol.write(json.dumps({"isSuccess": False, "ready": False, "error": describe_failure(error, None)}) + "\n")
        protocol.flush()
        return 1
    server.answer({"isSuccess": True, "ready": True, "pid": os.getpid(), "alembicVersion": alembic.__version__})
    request = read_request()
    while request is not EOF:
        if request.get("op") in ("upgrade", "downgrade"):
            request = server.migrate(request, read_request)
        else:
            server.answer(server.handle(request))
            request = read_request()
    Engines.dispose()
    # Everything is committed and answered: skip the interpreter's slow teardown, which the parent waits for.
    protocol.flush()
    sys.__stderr__.flush()
    os._exit(0)


def read_request():
    """The next request on stdin; EOF when stdin closed."""
    while True:
        try:
            line = sys.stdin.readline()
        except KeyboardInterrupt:
            continue
        if not line:
            return EOF
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except ValueError as error:
            return {"op": "invalid", "message": "not a JSON request: %s" % error}
        if not isinstance(request, dict):
            return {"op": "invalid", "message": "not a JSON object: %s" % line.strip()[:200]}
        return request


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--name", default="alembic")
    parser.add_argument("--url-env", default="DIRECT_URL")
    parser.add_argument("--current", action="store_true")
    parser.add_argument("--version-table", default="alembic_version")
    parser.add_argument("--version-table-schema", default=None)
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--lifeline-fd", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)

    if args.serve:
        return serve(args)

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
