"""The one error type for user mistakes: the CLI prints its message on one line and exits non-zero.

Anything else that escapes a command is a bug and keeps its traceback.
"""


class MlopsError(Exception):
    """A problem the user can fix: the message says what is wrong and what to do next."""

    exit_code = 2
