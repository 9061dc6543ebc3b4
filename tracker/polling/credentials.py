"""A new carrier account's credentials, gathered for ``zelo accounts add``: from ``--credential FIELD=VALUE``
(and the Correios shorthands ``--user``, ``--posting-card``, ``--access-code``), then the environment for secret
fields (``ZELO_CREDENTIAL_<FIELD>``), then a prompt for the required ones still missing (a secret without echo).

A value is never repeated back, in a prompt or an error: errors name the field and where it came from."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from carriers.base import CarrierSpec
from tracker.polling.accounts import accepted_fields, describe_fields

ENV_PREFIX = "ZELO_CREDENTIAL_"
Ask = Callable[[str, bool], str]  # (prompt text, hide the input) → what was typed


class CredentialError(ValueError):
    pass


@dataclass(frozen=True)
class Given:
    field: str
    value: str
    source: str  # where it came from, as a person would say it: "--credential", "ZELO_CREDENTIAL_TOKEN", ...


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def parse_pairs(pairs: Sequence[str]) -> list[Given]:
    """``--credential FIELD=VALUE`` options as given (the value may hold ``=``; it is never shown)."""
    given = []
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            raise CredentialError(
                "--credential takes FIELD=VALUE (e.g. --credential token=...); one was given without a field name "
                "and '=' (its text is not shown: it may be a secret)"
            )
        given.append(Given(field.strip(), value, "--credential"))
    return given


def gather(spec: CarrierSpec, given: Sequence[Given], environ: Mapping[str, str], ask: Ask) -> list[Given]:
    """Every credential for an account of ``spec``'s carrier, from ``given``, ``environ`` and ``ask``, in the
    carrier's order of fields."""
    accepted = accepted_fields(spec)
    found: dict[str, Given] = {}
    for g in given:
        if g.field not in accepted:
            raise CredentialError(
                f"{spec.name} accounts take no credential {g.field!r} (given with {g.source}); "
                f"expected {describe_fields(spec)}"
            )
        if g.field in found:
            sources = sorted({found[g.field].source, g.source})
            raise CredentialError(f"credential {g.field!r} is given twice (with {' and '.join(sources)}); give it once")
        found[g.field] = g
    for field in accepted:
        if field in spec.secret_fields and field not in found and (value := environ.get(env_name(field))) is not None:
            found[field] = Given(field, value, env_name(field))
    for field in spec.credential_fields:
        if field not in found:
            text = spec.credential_help.get(field) or f"{spec.title} {field}"
            found[field] = Given(field, ask(text, field in spec.secret_fields), "at the prompt")
    for g in found.values():
        if not g.value.strip():
            raise CredentialError(_empty(spec, g))
    return [found[field] for field in accepted if field in found]


def _empty(spec: CarrierSpec, g: Given) -> str:
    where = "typed at the prompt" if g.source == "at the prompt" else f"from {g.source}"
    ways = [f"--credential {g.field}=VALUE"]
    if g.field in spec.secret_fields:
        ways.append(env_name(g.field))
    if g.field in spec.credential_fields:
        ways.append("the prompt")
    how = ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else ways[0]
    return f"the {g.field.replace('_', ' ')} is empty ({where}): give the {spec.name} credential {g.field} with {how}"
