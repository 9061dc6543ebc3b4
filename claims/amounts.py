"""How much a claim asks for, in R$ (``Decimal``), by its policy's rule (carriers-brazil.md §3.4, §3.5)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from claims.policy import Policy
from claims.vocabulary import ClaimType

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Amount:
    value: Decimal | None  # None: an information request asks for no money
    rule: str  # how it was reckoned, in words a person checks (kept on the claim and in its packet)


def brl(amount: Decimal | None) -> str | None:
    """An amount as Brazil writes it: ``Decimal("1234.5")`` → ``"1.234,50"``."""
    if amount is None:
        return None
    return f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def delay_percent(policy: Policy, late: int) -> int:
    """The % of postage refunded for being ``late`` (in the policy's unit); 0 when on time."""
    if late <= 0 or not policy.delay_tiers:
        return 0
    for upto, percent in policy.delay_tiers:
        if late <= upto:
            return percent
    return policy.delay_tiers[-1][1]


def amount(
    claim: ClaimType, policy: Policy, *, late: int | None, postage: Decimal | None, declared: Decimal | None
) -> Amount:
    if claim is ClaimType.INFORMATION_REQUEST:
        return Amount(None, "pedido de informação: sem valor")
    if claim is ClaimType.REFUND:
        percent = delay_percent(policy, late or 0)
        unit = "min" if policy.delay_tier_unit == "minutes" else "dias úteis"
        value = ((postage or Decimal(0)) * percent / 100).quantize(CENT, ROUND_HALF_UP)
        return Amount(value, f"{percent}% do frete R$ {postage or 0} por {late or 0} {unit} de atraso")
    if declared and policy.declared_value_cap > 0:
        base, why = min(declared, policy.declared_value_cap), f"valor declarado R$ {declared}"
        if declared > policy.declared_value_cap:
            why += f" limitado a R$ {policy.declared_value_cap}"
    else:
        base, why = policy.automatic_indemnity, f"indenização automática R$ {policy.automatic_indemnity}"
    value = base
    if policy.refund_postage_with_indemnity and postage:
        value, why = value + postage, f"{why} + frete R$ {postage}"
    return Amount(value.quantize(CENT, ROUND_HALF_UP), why)
