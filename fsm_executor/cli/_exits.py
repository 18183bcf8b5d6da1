"""The command line's exit statuses, named once. What each means for each command is the
table under "Exit statuses" in README.md (tests/test_cli_exits.py runs every status it
claims). Plain constants, no imports: ``main`` uses them for every command, and reading a
journal must start light."""

from __future__ import annotations

from typing import Final

#: Done: every order ended normally; a clean audit; the file written.
EXIT_OK: Final = 0
#: Look at it: an order failed for a reason of its own or is in doubt, orphans were left
#: unadopted, an audit found a violation, a journal does not replay, a diagram is stale.
EXIT_LOOK: Final = 1
#: Bad input, nothing done: a command line argparse refuses, a bad signals file, a file
#: that is not a journal (every FsmExecutorError that reaches ``main``).
EXIT_BAD_INPUT: Final = 2
#: Some orders are presumed absent: most likely never placed, not re-sent, still watched.
EXIT_PRESUMED_ABSENT: Final = 3
#: Another process is writing the journal (JournalLocked): nothing was opened or sent, so a
#: supervisor may simply retry.
EXIT_LOCKED: Final = 4
#: Interrupted (Ctrl-C): 128 + SIGINT, as a shell reports it.
EXIT_INTERRUPTED: Final = 130
#: The output's reader went away before it was all written (``| head``): the command stops
#: writing, with no traceback. 128 + SIGPIPE, as a shell reports a program the signal ends.
EXIT_PIPE_CLOSED: Final = 141
