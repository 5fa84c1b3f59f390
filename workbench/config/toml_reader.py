"""Typed, validating reads of a parsed TOML table.

Every error names the file, the dotted key and what was expected, so a contributor can fix a
recipe without reading code. Unknown keys are errors too: a typo must not be silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal, overload

from workbench.errors import RecipeError


class TableReader:
    """Reads keys of one TOML table; ``done()`` rejects the keys nobody asked for."""

    def __init__(self, data: dict[str, Any], file: str, prefix: str = ""):
        self.data = data
        self.file = file
        self.prefix = prefix
        self._seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _take(self, name: str, required: bool, what: str) -> Any:
        self._seen.add(name)
        if name not in self.data:
            if required:
                raise RecipeError(self.file, self.key(name), f"is missing; expected {what}")
            return None
        return self.data[name]

    # A required key, or an optional one with a string default, always gives a string.
    @overload
    def string(
        self,
        name: str,
        what: str = ...,
        *,
        required: Literal[True] = ...,
        default: str | None = ...,
        choices: tuple[str, ...] | None = ...,
    ) -> str: ...

    @overload
    def string(
        self,
        name: str,
        what: str = ...,
        *,
        required: bool,
        default: str,
        choices: tuple[str, ...] | None = ...,
    ) -> str: ...

    @overload
    def string(
        self,
        name: str,
        what: str = ...,
        *,
        required: bool = ...,
        default: None = ...,
        choices: tuple[str, ...] | None = ...,
    ) -> str | None: ...

    def string(
        self,
        name: str,
        what: str = "a string",
        *,
        required: bool = True,
        default: str | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> str | None:
        value = self._take(name, required, what)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise RecipeError(self.file, self.key(name), f"must be {what}", value)
        if choices and value not in choices:
            raise RecipeError(
                self.file, self.key(name), f"must be one of {', '.join(choices)}", value
            )
        return value

    def seconds(self, name: str, what: str, *, default: float) -> float:
        """A positive number of seconds, or ``default`` when the key is absent."""
        value = self._take(name, False, what)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise RecipeError(self.file, self.key(name), f"must be {what}", value)
        return float(value)

    def strings(
        self, name: str, what: str = "a list of strings", *, required: bool = False
    ) -> tuple[str, ...]:
        value = self._take(name, required, what)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RecipeError(self.file, self.key(name), f"must be {what}", value)
        return tuple(value)

    def string_map(
        self, name: str, what: str = "a table of strings", *, required: bool = False
    ) -> dict[str, str]:
        value = self._take(name, required, what)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise RecipeError(self.file, self.key(name), f"must be {what}", value)
        return dict(value)

    def table(self, name: str, what: str = "a table", *, required: bool = True) -> TableReader:
        value = self._take(name, required, what)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise RecipeError(self.file, self.key(name), f"must be {what}", value)
        return TableReader(value, self.file, f"{self.key(name)}.")

    def tables(
        self, name: str, what: str = "an array of tables", *, required: bool = False
    ) -> list[TableReader]:
        value = self._take(name, required, what)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise RecipeError(self.file, self.key(name), f"must be {what}", value)
        return [TableReader(v, self.file, f"{self.key(name)}[{i}].") for i, v in enumerate(value)]

    def subtables(self) -> dict[str, TableReader]:
        """Every key of this table, each a table of its own (e.g. ``[build.modes.<name>]``)."""
        out = {}
        for name in self.data:
            out[name] = self.table(name, "a table")
        return out

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            known = ", ".join(sorted(self._seen)) or "none"
            raise RecipeError(
                self.file, self.key(unknown[0]), f"is not a known key (known here: {known})"
            )
