"""One-line progress messages and notices for the user, on stdout."""

PREFIX = "[tfgan_stable]"


def info(message):
    """Prints ``[tfgan_stable] message`` at once (training output interleaves with it)."""
    print(f"{PREFIX} {message}", flush=True)
