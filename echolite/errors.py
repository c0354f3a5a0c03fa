"""The one exception type for user errors; the CLI prints its message on one line and exits non-zero."""


class EcholiteError(Exception):
    """A problem with the user's input (file, option, data) that the user can fix.

    The message names the file or option and says what is wrong, in one line.
    """
