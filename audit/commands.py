"""Attribute every write made by a management command to that command and its arguments.

The hook is `BaseCommand.execute`, wrapped once from `AuditConfig.ready()`. Every way of
running a command goes through it: `manage.py <name>` (run_from_argv -> execute) and
`call_command()` (-> execute) alike, for Django's, third-party and our own commands, since
commands implement `handle()` and the few that override `execute()` (runserver, sqlmigrate) call
`super().execute()`. Wrapping `call_command` or `ManagementUtility` instead would miss one path
or the other; a base class of our own would miss every command we do not write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand

from audit import tracking
from audit.context import audit_context

# Switches every command has; they say nothing about what the command did.
_COMMON_OPTIONS = frozenset(
    {
        "verbosity",
        "settings",
        "pythonpath",
        "traceback",
        "no_color",
        "force_color",
        "skip_checks",
        "stdout",
        "stderr",
    }
)


def command_name(command: BaseCommand) -> str:
    """`migrate` for django.core.management.commands.migrate.Command."""
    return type(command).__module__.rsplit(".", 1)[-1]


def command_context(command: BaseCommand, args: tuple[Any, ...], options: dict[str, Any]) -> dict:
    """The audit context of one command run; secret options (tracking.py) masked."""
    name = command_name(command)
    secret = set(tracking.SECRET_COMMAND_OPTIONS.get(name, ()))
    shown = {
        key: tracking.MASK if key in secret and value is not None else value
        for key, value in sorted(options.items())
        if key not in _COMMON_OPTIONS
    }
    return {"user_id": None, "command": name, "args": [str(a) for a in args], "options": shown}


def install() -> None:
    """Wrap BaseCommand.execute once (ready() may run more than once in tests)."""
    original: Callable[..., Any] = BaseCommand.execute
    if getattr(original, "audit_wrapped", False):
        return

    @functools.wraps(original)
    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        with audit_context(command_context(self, args, options)):
            return original(self, *args, **options)

    execute.audit_wrapped = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]
