"""Turn a pydantic-settings model into typer options, so defaults are written only once.

Each field ``foo_bar`` becomes ``--foo-bar`` (``--foo-bar/--no-foo-bar`` for booleans) with env
var ``TCPCHAT_FOO_BAR``; ``--help`` shows the model's description and default. Flags left unset
are not passed, so the model's own env handling and defaults apply.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import PydanticUndefined


def _default_text(value: Any) -> str:
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "***"
    text = str(value)
    return text if len(text) < 40 else text.splitlines()[0][:37] + "..."


def settings_command(
    model: type[BaseModel], run: Callable[[BaseModel], None], skip: tuple[str, ...] = ()
) -> Callable[..., None]:
    """A typer command function whose options are ``model``'s fields."""
    params = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        is_bool = field.annotation is bool
        decls = [f"{flag}/--no-{name.replace('_', '-')}"] if is_bool else [flag]
        option = typer.Option(
            None,
            *decls,
            envvar=f"TCPCHAT_{name.upper()}",
            help=f"{field.description or ''} (default: {_default_text(field.default)})",
            show_default=False,
            show_envvar=True,
        )
        annotation = (bool | None) if is_bool else (str | None)
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)
        )

    def command(**kwargs: Any) -> None:
        given = {k: v for k, v in kwargs.items() if v is not None}
        settings = load_settings(model, given)
        run(settings)

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return command


def load_settings(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """Build the settings or exit with a one-line error naming the bad setting."""
    try:
        return model(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        hint = f" (--{name.replace('_', '-')} / TCPCHAT_{name.upper()})" if err["loc"] else ""
        typer.echo(f"error: setting {name}{hint}: {err['msg']}", err=True)
        raise typer.Exit(2) from None
