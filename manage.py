#!/usr/bin/env python
"""Django's command-line utility for Pulse."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.core.management import execute_from_command_line

    from config.command_errors import plain_errors

    with plain_errors():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
