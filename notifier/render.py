"""Messages and pages from Jinja2 templates: the store's own folder first (``ZELO_NOTIFY_TEMPLATES_DIR``),
then the built-in pt-BR ones in ``notifier/templates/``.

A message template has blocks: ``subject``, ``text`` and ``html`` for e-mail, ``text`` for WhatsApp (and the
wa.me queue), ``subject`` and ``text`` for ops. The subject and text blocks are rendered as plain text, the
html block with autoescaping always on (a store's override cannot turn it off). Undefined variables fail
loudly, naming the variable, so a message never goes out with a hole in it.

A store template may extend a built-in one through the ``builtin/`` prefix and re-word only some blocks:
``{% extends "builtin/email/delayed.j2" %}{% block subject %}...{% endblock %}``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from notifier.vocabulary import Channel, Trigger

BUILTIN_DIR = Path(__file__).with_name("templates")
FOLDERS = {
    Channel.EMAIL: "email",
    Channel.OPS_EMAIL: "ops",
    Channel.OPS_WEBHOOK: "ops",
    Channel.WHATSAPP: "whatsapp",
    Channel.WA_LINK: "whatsapp",
}
BLOCKS = {"email": ("subject", "text", "html"), "ops": ("subject", "text"), "whatsapp": ("text",)}


class RenderError(ValueError):
    """A template is missing, or uses a fact the context lacks (the message names which)."""


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None


@cache
def environment(templates_dir: str | None, *, html: bool) -> jinja2.Environment:
    """One environment per (store folder, escaping): plain text for subjects and texts, escaped HTML."""
    builtin = jinja2.FileSystemLoader(BUILTIN_DIR)
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(templates_dir)] if templates_dir else []
    loaders += [builtin, jinja2.PrefixLoader({"builtin": builtin})]
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=html,  # noqa: S701 -- subjects and texts are plain text; the html block is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(
    trigger: Trigger, channel: Channel, context: Mapping[str, Any], *, templates_dir: str | None = None
) -> Rendered:
    """The message for ``trigger`` on ``channel``, from the store's template if it has one."""
    folder = FOLDERS[channel]
    return _message(f"{folder}/{trigger.value}.j2", context, templates_dir)


def render_digest(context: Mapping[str, Any], *, templates_dir: str | None = None) -> Rendered:
    """One ops e-mail for a round of alerts (``ops/digest.j2``; the context's ``alerts`` hold each one's
    ``subject`` and ``text``)."""
    return _message("ops/digest.j2", context, templates_dir)


def _message(name: str, context: Mapping[str, Any], templates_dir: str | None) -> Rendered:
    blocks = BLOCKS[name.split("/")[0]]
    parts = {block: _block(templates_dir, name, block, context, html=block == "html") for block in blocks}
    subject = parts.get("subject")
    return Rendered(
        subject=" ".join(subject.split()) if subject is not None else None,  # one line: it becomes a header
        text=_tidy(parts["text"]),
        html=parts.get("html"),
    )


def page(name: str, context: Mapping[str, Any], *, templates_dir: str | None = None) -> str:
    """A whole HTML page (``pages/<name>.j2``), escaped."""
    template = _template(templates_dir, f"pages/{name}.j2", html=True)
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template {template.name}: {exc.message}; add it to the page's context") from None


def _template(templates_dir: str | None, name: str, *, html: bool) -> jinja2.Template:
    try:
        return environment(templates_dir, html=html).get_template(name)
    except jinja2.TemplateNotFound as exc:
        where = f"{templates_dir} or {BUILTIN_DIR}" if templates_dir else str(BUILTIN_DIR)
        raise RenderError(f"no template {exc.name!r} in {where}") from None


def _block(templates_dir: str | None, name: str, block: str, context: Mapping[str, Any], *, html: bool) -> str:
    template = _template(templates_dir, name, html=html)
    try:
        ctx = template.new_context(dict(context))
        if block not in ctx.blocks:  # defined by a parent: running the template registers its blocks
            for _ in template.root_render_func(ctx):
                pass
        if block not in ctx.blocks:
            expected = ", ".join(BLOCKS[name.split("/")[0]])
            raise RenderError(f"template {name!r} has no block {block!r}; expected blocks {expected}")
        return "".join(ctx.blocks[block][0](ctx)).strip()
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template {name!r} (block {block!r}): {exc.message}; the message's facts lack it") from None


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
