"""What a command run by hand says when its PostgreSQL or Redis does not answer: what to do, not
a traceback. manage.py runs every command inside plain_errors()."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import kombu.exceptions
import redis
from django.db import connections
from django.db.utils import OperationalError

# variable: (what Pulse calls the service, what `make run` starts for it)
SERVICES = {"DATABASE_URL": ("database", "PostgreSQL"), "REDIS_URL": ("Redis", "Valkey")}
INTERRUPTED = 130  # what a shell reports for a command ended by Ctrl-C (128 + SIGINT)


@contextmanager
def plain_errors() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)  # the user pressed Ctrl-C and needs no traceback to know it
    except OperationalError as error:
        if connections["default"].connection is not None:
            raise  # it failed after connecting: a real error, whose traceback helps
        sys.exit(explained("DATABASE_URL", error))
    except (redis.ConnectionError, kombu.exceptions.OperationalError) as error:
        sys.exit(explained("REDIS_URL", error))


def explained(variable: str, error: Exception) -> str:
    # Imported here, not above: manage.py imports this module before the settings module has set
    # the defaults (SECRET_KEY, ...) that config/env.py reads when first imported.
    from config import env

    return unreachable_message(variable, getattr(env, variable), error)


def unreachable_message(variable: str, url: str, error: Exception) -> str:
    """What to do when the server Pulse uses for `variable` (at `url`) refused a connection."""
    name, embedded = SERVICES[variable]
    reason = str(error).strip().splitlines()[0]
    if os.environ.get(variable):  # set by the user (or their .env), so `make run` would not help
        server = urlsplit(url).hostname or "the local socket"  # no user or password in a message
        return (
            f"Pulse cannot reach the {name} server in {variable} ({server}): {reason}\n"
            f"Start that server or correct {variable}. Or unset {variable} and start Pulse with "
            f"`make run` in another terminal: it starts an embedded {embedded}."
        )
    return (
        f"Pulse cannot reach its {name}. Start Pulse with `make run` in another terminal "
        f"(it starts an embedded {embedded}), or set {variable} to your own server.\n"
        f"(Tried {url}: {reason})"
    )
