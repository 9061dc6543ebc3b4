"""``zelo carriers parse loggi FILE [--push]`` run as a user would (typer's runner on ``zelo.cli``)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.carriers.loggi.samples import CODE, item, journey, package
from zelo.cli import app

runner = CliRunner()


def write(tmp_path: Path, payload: object) -> str:
    file = tmp_path / "loggi.json"
    file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return str(file)


def test_parse_prints_a_tracking_answer_normalized(tmp_path: Path) -> None:
    result = runner.invoke(app, ["carriers", "parse", "loggi", write(tmp_path, {"packages": [package(journey())]})])
    assert result.exit_code == 0, result.output
    (parcel,) = json.loads(result.output)["results"]
    assert (parcel["tracking_code"], parcel["status"], parcel["expected_delivery"], parcel["error"]) == (
        CODE,
        "delivered",
        "2021-05-05",
        None,
    )
    assert [(e["code"], e["status"]) for e in parcel["events"]] == [
        ("LOGGI-1", "pending"),
        ("LOGGI-2", "posted"),
        ("LOGGI-3", "in_transit"),
        ("LOGGI-4", "out_for_delivery"),
        ("LOGGI-5", "delivered"),
    ]
    assert parcel["events"][-1]["occurred_at"] == "2021-05-05T10:40:18.941518+00:00"
    assert parcel["events"][-1]["location"] == "São Paulo/SP"


def test_parse_push_prints_a_webhook_body_normalized(tmp_path: Path) -> None:
    other = package(
        [item("12", "2021-05-04T10:00:00Z", description="Pacote extraviado")], trackingCode="AB0000000001LG"
    )
    file = write(tmp_path, {"packages": [package(), other]})
    result = runner.invoke(app, ["carriers", "parse", "loggi", file, "--push"])
    assert result.exit_code == 0, result.output
    delivered, lost = json.loads(result.output)["results"]
    assert (delivered["status"], [e["code"] for e in delivered["events"]]) == ("delivered", ["LOGGI-5"])
    assert (lost["tracking_code"], lost["status"], lost["events"][0]["reason"]) == (
        "AB0000000001LG",
        "lost",
        "carrier_lost",
    )


def test_parse_push_refuses_a_malformed_body_naming_what_was_expected(tmp_path: Path) -> None:
    result = runner.invoke(app, ["carriers", "parse", "loggi", write(tmp_path, {"packages": [{}]}), "--push"])
    assert result.exit_code == 1
    assert "loggi: push body: packages[0] has trackingCode None, expected the package's tracking code" in result.output
    result = runner.invoke(app, ["carriers", "parse", "loggi", write(tmp_path, {"objetos": []})])
    assert result.exit_code == 1 and "tracking answer: expected a JSON object with a 'packages' list" in result.output


def test_carriers_list_shows_loggi_with_its_optional_push_fields() -> None:
    result = runner.invoke(app, ["carriers", "list"])
    assert result.exit_code == 0
    rows = next(line for line in result.output.splitlines() if line.startswith("loggi "))  # one line per carrier
    for field in ("client_id", "client_secret", "company_id", "webhook_user", "webhook_password", "(optional)"):
        assert field in rows
    assert "https://api.loggi.com" in rows
