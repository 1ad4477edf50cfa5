"""Expected failures: one line for the user, a non-zero exit, no traceback."""


class HarnessError(Exception):
    """Something the user can fix; the message says what and how."""
