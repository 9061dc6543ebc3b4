"""Each policy's amount rule: every delay tier, the caps, the automatic indemnity, in Decimal R$."""

from dataclasses import replace
from decimal import Decimal

import pytest

from claims.amounts import amount, delay_percent
from claims.policy import PolicyError, load_policies
from claims.vocabulary import ClaimType

POLICIES = load_policies()
PAC = POLICIES.for_shipment("correios", "PAC")
SEDEX = POLICIES.for_shipment("correios", "SEDEX")
SEDEX12 = POLICIES.for_shipment("correios", "SEDEX 12")
MINI = POLICIES.for_shipment("correios", "Mini Envios")


@pytest.mark.parametrize(
    ("policy", "late", "percent"),
    [
        (PAC, 0, 0), (PAC, 1, 5), (PAC, 5, 5), (PAC, 6, 10), (PAC, 10, 10), (PAC, 11, 15), (PAC, 400, 15),
        (SEDEX, 1, 5), (SEDEX, 3, 5), (SEDEX, 4, 10), (SEDEX, 5, 10), (SEDEX, 6, 15),
        (SEDEX12, 15, 0), (SEDEX12, 16, 30), (SEDEX12, 59, 30), (SEDEX12, 60, 100),
    ],
)  # fmt: skip
def test_delay_tiers(policy, late: int, percent: int) -> None:  # type: ignore[no-untyped-def]
    assert delay_percent(policy, late) == percent


def test_refund_is_a_share_of_postage_rounded_to_the_cent() -> None:
    got = amount(ClaimType.REFUND, PAC, late=7, postage=Decimal("23.45"), declared=None)
    assert got.value == Decimal("2.35")  # 10 % of 23.45 = 2.345, half up
    assert "10%" in got.rule and "7 dias úteis" in got.rule


def test_indemnity_pays_declared_value_up_to_the_service_cap_plus_postage() -> None:
    under = amount(ClaimType.INDEMNITY, PAC, late=None, postage=Decimal("30.00"), declared=Decimal("250.00"))
    assert under.value == Decimal("280.00")
    over = amount(ClaimType.INDEMNITY, PAC, late=None, postage=Decimal("30.00"), declared=Decimal("5000.00"))
    assert over.value == Decimal("3030.00") and "limitado a R$ 3000.00" in over.rule
    mini = amount(ClaimType.INDEMNITY, MINI, late=None, postage=Decimal("12.00"), declared=Decimal("150.00"))
    assert mini.value == Decimal("112.00")


def test_without_declared_value_the_automatic_indemnity_applies() -> None:
    got = amount(ClaimType.INDEMNITY, SEDEX, late=None, postage=Decimal("40.00"), declared=None)
    assert got.value == Decimal("65.63") and "automática" in got.rule
    no_postage = replace(SEDEX, refund_postage_with_indemnity=False)
    assert amount(ClaimType.INDEMNITY, no_postage, late=None, postage=Decimal("40"), declared=None).value == Decimal(
        "25.63"
    )


def test_an_information_request_asks_for_no_money() -> None:
    assert amount(ClaimType.INFORMATION_REQUEST, PAC, late=None, postage=Decimal("1"), declared=None).value is None


def test_other_carriers_get_the_conservative_default() -> None:
    other = POLICIES.for_shipment("jadlog", "Package")
    assert other.filer == "manual" and other.filing == "approval" and other.window_days == 30


def test_a_bad_policy_file_names_the_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from claims.policy import POLICIES_FILE

    bad = tmp_path / "p.toml"
    bad.write_text(POLICIES_FILE.read_text().replace('automatic_indemnity = "25.63"', 'automatic_indemnity = "abc"'))
    with pytest.raises(PolicyError, match=r"carriers.correios.automatic_indemnity: 'abc' is not an amount"):
        load_policies(bad)


async def test_a_store_files_without_its_click_through_its_own_policies_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from claims import claims_of
    from claims.policy import POLICIES_FILE
    from tracker.config import Settings
    from zelo.features import open_runtime

    own = tmp_path / "policies.toml"
    own.write_text(POLICIES_FILE.read_text().replace('filing = "approval"', 'filing = "auto"', 1))
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'z.db'}", claims_policies=str(own))
    async with open_runtime(settings) as rt:
        assert claims_of(rt).policies.for_shipment("correios", "PAC").filing == "auto"
    async with open_runtime(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'z.db'}")) as rt:
        assert claims_of(rt).policies.for_shipment("correios", "PAC").filing == "approval"
