"""Words for counts in messages and figures, the same in both command lines."""


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 frame", "2 frames", "0 frames"; ``plural`` for a noun that takes no s ("1 analysis", "2 analyses")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
