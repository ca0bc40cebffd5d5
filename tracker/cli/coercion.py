"""Option values converted without pydantic, so that a command starts in a fraction of the time.

typer 0.29 converts every non-flag option through a pydantic TypeAdapter. Importing
pydantic and building the first adapter costs about 50 ms at each start, more than
all of tracker's own work in a query. Our options are plain strings, integers,
lists of strings and paths; `use_plain_coercion` gives those a converter that does
what typer's adapter does for them, with the same messages. Anything else, and any
typer that lacks this mechanism (before 0.29 it used click types, without pydantic),
is left to typer. These are typer's internals: the hook is taken only when they have
the shape it was written against, so a later typer converts as it always would.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

try:
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # another typer: its own conversion stays
    RuntimeParam = None


def _hook_fits() -> bool:
    """Whether this typer converts through RuntimeParam objects shaped as in typer 0.29."""
    try:
        fields = [field.name for field in dataclasses.fields(RuntimeParam)]
        arguments = list(inspect.signature(RuntimeParam._coerce_value).parameters)
        path_arguments = set(inspect.signature(coerce_cli_path).parameters)
    except (TypeError, ValueError, AttributeError):
        return False
    return (
        fields == ["parameter_info", "annotation"]
        and arguments == ["self", "value", "param", "ctx"]
        and {"value", "parameter_info", "path_type", "param", "ctx"} <= path_arguments
        and callable(getattr(_TyperParameter, "get_runtime_param", None))
    )


if RuntimeParam is not None and not _hook_fits():
    RuntimeParam = None

# pydantic's integers: ASCII digits, single underscores between them, a zero fraction allowed
_INTEGER = re.compile(r"\s*([+-]?[0-9]+(?:_[0-9]+)*)(?:\.0+)?\s*")
_BOOLEAN_WORDS = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("", "0", "off", "f", "false", "n", "no"), False),
}


def use_plain_coercion(command: Any, ctx: Any) -> None:
    """Give each option of `command` whose type is bool, str, int, Path or list[str] a converter without pydantic.

    Options with a parser, choices, clamping or path checks beyond the defaults keep typer's.
    """
    if RuntimeParam is None:
        return
    for param in command.get_params(ctx) if command is not None else ():
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue
        if _plain(descriptor.annotation, descriptor.parameter_info):
            param._runtime_param = _PlainParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )


def _plain(annotation: Any, info: Any) -> bool:
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None) is not None:
        return False
    if annotation in (bool, str) or annotation == list[str]:
        return True
    if annotation is int:
        return not getattr(info, "clamp", False)
    if annotation is Path:
        return not (info.exists or info.resolve_path or info.allow_dash)
    return False


if RuntimeParam is not None:

    class _PlainParam(RuntimeParam):
        """Converts a command-line string as typer's pydantic adapter would for the same annotation."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation = self.annotation
            if annotation is str:
                return _text(value, param, ctx)
            if annotation is bool:
                return self._boolean(value, param, ctx)
            if annotation is int:
                return self._integer(value, param, ctx)
            if annotation is Path:
                path = value if isinstance(value, Path) else Path(_text(value, param, ctx))
                return coerce_cli_path(path, self.parameter_info, path_type=Path, param=param, ctx=ctx)
            return [_text(item, param, ctx) for item in (value if isinstance(value, (list, tuple)) else [value])]

        def _boolean(self, value: Any, param: Any, ctx: Any) -> bool:
            if isinstance(value, bool):
                return value
            word = _text(value, param, ctx).strip().lower()
            if word not in _BOOLEAN_WORDS:
                raise BadParameter("Input should be a valid boolean, unable to interpret input", ctx=ctx, param=param)
            return _BOOLEAN_WORDS[word]

        def _integer(self, value: Any, param: Any, ctx: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise BadParameter("Input should be a valid integer", ctx=ctx, param=param)
            if isinstance(value, str):
                match = _INTEGER.fullmatch(value)
                if match is None:
                    raise BadParameter(
                        "Input should be a valid integer, unable to parse string as an integer", ctx=ctx, param=param
                    )
                value = int(match.group(1))
            low, high = self.parameter_info.min, self.parameter_info.max
            if low is not None and value < low:
                raise BadParameter(f"Input should be greater than or equal to {low}", ctx=ctx, param=param)
            if high is not None and value > high:
                raise BadParameter(f"Input should be less than or equal to {high}", ctx=ctx, param=param)
            return value


def _text(value: Any, param: Any, ctx: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise BadParameter(f"Value {value!r} is not a valid str.", ctx=ctx, param=param)
