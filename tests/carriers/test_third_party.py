"""A carrier from outside Zelo: the example adapter ``examples/zelo-kangu``, installed as its own package into a
throwaway virtualenv layered on this installation, is listed, parses, and is polled by the ``zelo`` command
against a local server that plays its API; its own tests pass there. Zelo's code never names it: the
``zelo.carriers`` entry point of the example's ``pyproject.toml`` alone registers it.

The virtualenv is built in about a second without the network: made by this interpreter with ``--without-pip``,
it sees this installation (Zelo and its dependencies, pip and setuptools) through a ``.pth`` file that adds
this environment's site-packages, and pip installs a copy of the example into it (``--no-deps
--no-build-isolation``: this environment's setuptools builds it, in the copy, so the repository stays clean).
"""

import ast
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "zelo-kangu"
ZELO_PACKAGES = ("zelo", "tracker", "carriers", "claims", "notifier", "scheduler", "migrations")
ZELO_SCRIPT = Path(sys.executable).with_name("zelo")  # the `zelo` command of this installation
TOKEN = "tok-kangu-123"
CODE = "KG0012345678"


@dataclass(frozen=True)
class Venv:
    python: Path
    example: Path  # the copy installed

    def run(self, *args: str, env: dict[str, str], cwd: Path) -> str:
        done = subprocess.run(
            [str(self.python), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"{args[:3]} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}"
        return done.stdout

    def zelo(self, *args: str, env: dict[str, str], cwd: Path) -> str:
        return self.run(str(ZELO_SCRIPT), *args, env=env, cwd=cwd)


def clean_environment(**zelo: str) -> dict[str, str]:
    """This process's environment without Zelo settings, proxies or Python variables, plus ``zelo``'s settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ZELO_", "PYTHON", "VIRTUAL_ENV", "PIP_")) and not k.lower().endswith("_proxy")
    }
    return env | {"PYTHONIOENCODING": "utf-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"} | zelo


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    setuptools = tuple(int(part) for part in version("setuptools").split(".")[:2])
    assert setuptools >= (70, 1), f"setuptools {version('setuptools')} cannot build wheels alone: pip install '.[dev]'"
    assert ZELO_SCRIPT.is_file(), f"no zelo command beside {sys.executable}: pip install -e '.[dev]'"
    root = tmp_path_factory.mktemp("third-party")
    example = root / "zelo-kangu"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".*cache"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=60)
    venv, env = Venv(root / "venv" / "bin" / "python", example), clean_environment()
    own = venv.run("-c", "import sysconfig; print(sysconfig.get_path('purelib'))", env=env, cwd=root).strip()
    ours = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    (Path(own) / "zelo-installation.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
    pip = ("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "--ignore-installed")
    venv.run(*pip, str(example), env=env, cwd=root)
    return venv


class KanguApi(ThreadingHTTPServer):
    """Kangu's tracking API as the example speaks it (``GET /v1/tracking?codes=...``, Bearer token), on
    127.0.0.1: the parcels it knows, ``not_found`` for any other code; every request recorded."""

    daemon_threads = True

    def __init__(self, token: str, parcels: dict[str, dict[str, Any]]) -> None:
        super().__init__(("127.0.0.1", 0), KanguHandler)
        self.token, self.parcels = token, parcels
        self.requests: list[tuple[str, str | None, str]] = []  # (path, Authorization, codes)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class KanguHandler(BaseHTTPRequestHandler):
    server: KanguApi

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        codes = parse_qs(url.query).get("codes", [""])[0]
        auth = self.headers.get("Authorization")
        self.server.requests.append((url.path, auth, codes))
        if url.path != "/v1/tracking":
            return self.answer(404, {"message": f"no route {url.path}"})
        if auth != f"Bearer {self.server.token}":
            return self.answer(401, {"message": "invalid token"})
        missing = {"code": "not_found", "message": "Encomenda ainda não recebida"}
        parcels = [self.server.parcels.get(c, {"tracking_code": c, "error": missing}) for c in codes.split(",")]
        return self.answer(200, {"parcels": parcels})

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test reads server.requests instead


@pytest.fixture
def kangu_api() -> Iterator[KanguApi]:
    now = datetime.now(UTC)

    def event(code: str, hours_ago: float, city: str) -> dict[str, Any]:
        at = (now - timedelta(hours=hours_ago)).isoformat(timespec="seconds")
        return {"code": code, "happened_at": at, "location": {"city": city, "state": "SP"}}

    timeline = [
        event("ENTREGUE", 1, "Campinas"),
        event("SAIU_PARA_ENTREGA", 5, "Campinas"),
        event("EM_TRANSITO", 26, "Cajamar"),
        event("POSTADO", 48, "São Paulo"),
    ]  # newest first, as some carriers list them
    server = KanguApi(TOKEN, {CODE: {"tracking_code": CODE, "events": timeline}})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def shipment_state(database: Path) -> tuple[str, list[tuple[str, str, str | None]]]:
    with sqlite3.connect(database) as db:
        (status,) = db.execute("SELECT status FROM shipments WHERE tracking_code = ?", (CODE,)).fetchone()
        events = db.execute(
            "SELECT e.code, e.status, e.location FROM tracking_events e JOIN shipments s ON s.id = e.shipment_id "
            "WHERE s.tracking_code = ? ORDER BY e.occurred_at",
            (CODE,),
        ).fetchall()
    return status, events


@pytest.mark.slow
def test_an_installed_adapter_is_listed_parsed_and_polled(venv: Venv, kangu_api: KanguApi, tmp_path: Path) -> None:
    database = tmp_path / "zelo.db"
    env = clean_environment(
        ZELO_DATABASE_URL=f"sqlite+aiosqlite:///{database}", ZELO_SECRET_KEY=secrets.token_urlsafe(32)
    )

    def zelo(*args: str) -> str:
        return venv.zelo(*args, env=env, cwd=tmp_path)

    where = venv.run("-c", "import zelo_kangu; print(zelo_kangu.__file__)", env=env, cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(venv.python.parents[1])  # the throwaway install, not another one
    kangu = [line for line in zelo("carriers", "list").splitlines() if line.startswith("kangu ")]
    assert kangu == ["kangu  Kangu (example)  https://api.kangu.example  credentials: api_token"]

    parsed = json.loads(zelo("carriers", "parse", "kangu", str(venv.example / "samples" / "tracking.json")))
    delivered, missing = parsed["results"]
    assert (delivered["tracking_code"], delivered["status"], delivered["expected_delivery"]) == (
        CODE,
        "delivered",
        "2026-11-06",
    )
    assert [e["code"] for e in delivered["events"]] == ["POSTADO", "EM_TRANSITO", "SAIU_PARA_ENTREGA", "ENTREGUE"]
    assert missing["error"] == {"code": "not_found", "message": "Encomenda ainda não recebida pela Kangu"}

    zelo("db", "upgrade")
    added = zelo(
        "accounts", "add", "kangu", "--name", "loja-kangu", "--credential", f"api_token={TOKEN}",
        "--base-url", kangu_api.url,
    )  # fmt: skip
    assert "account 'loja-kangu' added (id 1)" in added and TOKEN not in added
    shipments = tmp_path / "shipments.csv"
    shipments.write_text(f"external_id,carrier,tracking_code\nPED-1,kangu,{CODE.lower()}\n", encoding="utf-8")
    assert "created 1" in zelo("import", str(shipments))
    assert shipment_state(database) == ("pending", [])

    report = zelo("poll", "--once")
    assert "polled 1 shipments: 1 changed, 4 events written, 0 failed" in report
    assert "pending → delivered: 1" in report
    assert kangu_api.requests == [("/v1/tracking", f"Bearer {TOKEN}", CODE)]
    assert shipment_state(database) == (
        "delivered",
        [
            ("POSTADO", "posted", "São Paulo/SP"),
            ("EM_TRANSITO", "in_transit", "Cajamar/SP"),
            ("SAIU_PARA_ENTREGA", "out_for_delivery", "Campinas/SP"),
            ("ENTREGUE", "delivered", "Campinas/SP"),
        ],
    )
    assert TOKEN.encode() not in database.read_bytes()  # the account's token is stored sealed


@pytest.mark.slow
def test_the_example_passes_its_own_tests_where_it_is_installed(venv: Venv) -> None:
    out = venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", env=clean_environment(), cwd=venv.example)
    assert " passed" in out.splitlines()[-1] and "failed" not in out


def zelo_imports(path: Path) -> set[str]:
    """The modules of Zelo's packages that ``path`` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in ZELO_PACKAGES}


def test_the_example_uses_only_zelo_s_public_carrier_base() -> None:
    used = {name for path in EXAMPLE.rglob("*.py") for name in zelo_imports(path)}
    assert "carriers.base" in used
    assert {name for name in used if name != "carriers.base" and not name.startswith("carriers.base.")} == set()


def test_zelo_itself_never_names_the_example() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "kangu" not in project["entry-points"]["zelo.carriers"]
    sources = [ROOT / "scheduler.py", *(p for package in ZELO_PACKAGES for p in ROOT.glob(f"{package}/**/*.py"))]
    assert [str(p.relative_to(ROOT)) for p in sources if "kangu" in p.read_text(encoding="utf-8").lower()] == []
