"""The one error type of the cost tool: bad input, named by the flag or field it came from."""

from __future__ import annotations


class InputError(ValueError):
    """A value the tool cannot use; `field` names the flag or the field (the CLI exits 2)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
