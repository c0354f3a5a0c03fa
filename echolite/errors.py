"""The one exception type for user errors; the CLI prints its message on one line and exits non-zero."""

from echolite_edge.files import unwritable_reason


class EcholiteError(Exception):
    """A problem with the user's input (file, option, data) that the user can fix.

    The message names the file or option and says what is wrong, in one line.
    """


def check_writable(path, what: str) -> None:
    """Before any work: refuse ``path`` (a file or folder to be created) when it cannot be written there."""

    reason = unwritable_reason(path)
    if reason:
        raise EcholiteError(f"{path}: cannot write {what} there ({reason})")
