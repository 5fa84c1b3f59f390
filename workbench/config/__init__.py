"""Recipes and local settings: loading, validation, overrides."""

from __future__ import annotations

import dataclasses

from workbench.config.overrides import override_for, read_local_config
from workbench.config.parse import parse_recipe
from workbench.config.recipe import (
    BuildMode,
    DeviceFallback,
    Labels,
    PrFormat,
    Recipe,
    RequiredLabel,
    TestMapping,
    Tests,
    Upstream,
)
from workbench.errors import UnknownUpstream, UsageError
from workbench.paths import RECIPE_FILE, Workspace

__all__ = [
    "BuildMode",
    "DeviceFallback",
    "Labels",
    "PrFormat",
    "Recipe",
    "RequiredLabel",
    "TestMapping",
    "Tests",
    "Upstream",
    "known_upstreams",
    "load_recipe",
    "load_recipes",
    "parse_recipe",
]


def known_upstreams(ws: Workspace) -> list[str]:
    """Names of the upstreams that have a recipe, sorted."""
    return sorted(p.parent.name for p in ws.upstreams_dir.glob(f"*/{RECIPE_FILE}"))


def load_recipe(ws: Workspace, name: str) -> Recipe:
    """The recipe of ``name`` with workbench.toml and environment overrides applied."""
    known = known_upstreams(ws)
    if name not in known:
        raise UnknownUpstream(
            f"unknown upstream '{name}'",
            f"known upstreams: {', '.join(known) or 'none'}",
        )
    file = ws.recipe_file(name)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {ws.relative(file)}: {exc.strerror}") from None
    recipe = parse_recipe(name, file, text, shown_as=ws.relative(file))
    local = read_local_config(ws.local_config, known)
    upstream = recipe.upstream
    url_source, pin_source = recipe.url_source, recipe.pin_source
    url = override_for(name, "url", local)
    if url:
        upstream = dataclasses.replace(upstream, url=url.value)
        url_source = url.source
    pin = override_for(name, "pin", local)
    if pin:
        upstream = dataclasses.replace(upstream, pin=pin.value)
        pin_source = pin.source
    return dataclasses.replace(
        recipe, upstream=upstream, url_source=url_source, pin_source=pin_source
    )


def load_recipes(ws: Workspace) -> list[Recipe]:
    return [load_recipe(ws, name) for name in known_upstreams(ws)]
