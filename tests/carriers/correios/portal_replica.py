"""A local replica of the Correios "Fale Conosco" portal, for the portal filer's tests: plain HTML, no assets.

Login → the manifestação type → the motivo → the form (object code, addressee, packaging, description, reply
e-mail), validated on the server; the confirmation page shows the protocol. A second filing for the same object
and type answers "Já existe manifestação". Modes a test sets: a captcha on the form, a session that expires on
submitting, a duplicate answer without its protocol, a slow confirmation.
"""

import asyncio
import html
import itertools
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

TYPES = {"R": "Reclamação", "E": "Elogio", "S": "Sugestão", "I": "Solicitação de ressarcimento"}
MOTIVOS = {
    "132": "Objeto entregue em endereço divergente",
    "133": "Objeto entregue violado",
    "134": "Objeto entregue avariado/danificado",
    "135": "Remessa/Objeto postal entregue com atraso",
    "136": "Objeto devolvido indevidamente",
    "211": "Objeto não entregue",
    "1414": "Sem tentativa de entrega domiciliar",
}
S10 = re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$")
E_MAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STYLE = """body{font-family:sans-serif;max-width:40rem;margin:2rem auto;color:#222}
header{background:#00416b;color:#fff;padding:.6rem 1rem;font-weight:bold}header span{color:#ffd400}
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password],select,textarea{width:100%;padding:.4rem}
fieldset{margin-top:.8rem}fieldset label{display:inline;margin-right:1rem}
[role=alert]{background:#fde8e8;border-left:4px solid #c00;padding:.5rem;margin:.5rem 0}
button{margin-top:1rem;padding:.5rem 1.5rem;background:#ffd400;border:0;font-weight:bold}
.captcha{border:1px dashed #999;padding:.5rem;margin-top:1rem}"""


@dataclass
class Replica:
    user: str = "loja@example.com"
    password: str = "s3nha"
    captcha: bool = False
    expire_on_submit: bool = False
    duplicate_shows_protocol: bool = True
    slow_confirmation_s: float = 0.0
    filed: dict[tuple[str, str], str] = field(default_factory=dict)  # (object, type) → protocol
    submissions: list[dict[str, str]] = field(default_factory=list)  # every form posted
    logins: int = 0
    sessions: set[str] = field(default_factory=set)
    serials: Iterator[int] = field(default_factory=lambda: itertools.count(2026120001))

    def reset(self) -> None:
        fresh = Replica()
        for name in ("captcha", "expire_on_submit", "duplicate_shows_protocol", "slow_confirmation_s"):
            setattr(self, name, getattr(fresh, name))
        self.filed.clear()
        self.submissions.clear()
        self.sessions.clear()
        self.logins = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/login", self.login, methods=["GET", "POST"]),
                Route("/faleconosco", self.start),
                Route("/faleconosco/motivo", self.motivo),
                Route("/faleconosco/formulario", self.form),
                Route("/faleconosco/enviar", self.submit, methods=["POST"]),
                Route("/faleconosco/protocolo/{number}", self.confirmation),
            ]
        )

    def _in(self, request: Request) -> bool:
        return request.cookies.get("sessao") in self.sessions

    async def login(self, request: Request) -> Response:
        error = "Sessão expirada. Entre novamente para continuar." if request.query_params.get("expirada") else ""
        if request.method == "POST":
            form = await request.form()
            if form.get("usuario") == self.user and form.get("senha") == self.password:
                self.logins += 1
                token = secrets.token_hex(8)
                self.sessions.add(token)
                response = RedirectResponse("/faleconosco", status_code=303)
                response.set_cookie("sessao", token, httponly=True)
                return response
            error = "Usuário ou senha inválidos."
        body = f"""{_alert(error)}<form method="post" action="/login">
<label for="usuario">Usuário (CPF, CNPJ ou e-mail)</label><input type="text" id="usuario" name="usuario">
<label for="senha">Senha</label><input type="password" id="senha" name="senha">
<button type="submit">Entrar</button></form>"""
        return _page("Acesse sua conta", body)

    async def start(self, request: Request) -> Response:
        if not self._in(request):
            return RedirectResponse("/login", status_code=303)
        radios = "".join(
            f'<label><input type="radio" name="tipo" value="{k}"{" checked" if k == "E" else ""}> {v}</label>'
            for k, v in TYPES.items()
        )
        body = f"""<form method="get" action="/faleconosco/motivo">
<fieldset><legend>Tipo de manifestação</legend>{radios}</fieldset><button type="submit">Continuar</button></form>"""
        return _page("Fale Conosco", body)

    async def motivo(self, request: Request) -> Response:
        if not self._in(request):
            return RedirectResponse("/login", status_code=303)
        tipo = request.query_params.get("tipo", "")
        options = "".join(f'<option value="{k}">{v}</option>' for k, v in MOTIVOS.items())
        body = f"""<p>{html.escape(TYPES.get(tipo, "?"))} → Entrega de Remessa/Objeto postal Nacional</p>
<form method="get" action="/faleconosco/formulario"><input type="hidden" name="tipo" value="{html.escape(tipo)}">
<label for="motivo">Motivo</label>
<select id="motivo" name="motivo"><option value="">Selecione</option>{options}</select>
<button type="submit">Continuar</button></form>"""
        return _page("Fale Conosco: motivo", body)

    async def form(self, request: Request) -> Response:
        if not self._in(request):
            return RedirectResponse("/login", status_code=303)
        return self._form(dict(request.query_params), [])

    def _form(self, values: dict[str, str], errors: list[str]) -> Response:
        v = {k: html.escape(values.get(k, "")) for k in ("tipo", "motivo", "objeto", "destinatario", "descricao")}
        email = html.escape(values.get("email", ""))
        packaging = "".join(
            f'<label><input type="radio" name="embalagem" value="{k}"'
            f"{' checked' if values.get('embalagem') == k else ''}> {label}</label>"
            for k, label in (("C", "Caixa"), ("E", "Envelope"))
        )
        captcha = (
            '<div class="captcha"><img alt="captcha" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            '<label for="cap">Digite os caracteres da imagem</label><input type="text" id="cap" name="cap"></div>'
            if self.captcha
            else ""
        )
        alerts = "".join(_alert(e) for e in errors)
        chosen = f"{TYPES.get(values.get('tipo', ''), '?')} → {MOTIVOS.get(values.get('motivo', ''), '?')}"
        body = f"""<p>{html.escape(chosen)}</p>
{alerts}<form method="post" action="/faleconosco/enviar">
<input type="hidden" name="tipo" value="{v["tipo"]}"><input type="hidden" name="motivo" value="{v["motivo"]}">
<label for="objeto">Código do objeto</label><input type="text" id="objeto" name="objeto" value="{v["objeto"]}">
<label for="destinatario">Nome do destinatário</label>
<input type="text" id="destinatario" name="destinatario" value="{v["destinatario"]}">
<fieldset><legend>Embalagem</legend>{packaging}</fieldset>
<label for="descricao">Descreva o ocorrido</label>
<textarea id="descricao" name="descricao" rows="4">{v["descricao"]}</textarea>
<label for="email">E-mail para resposta</label><input type="text" id="email" name="email" value="{email}">
{captcha}<button type="submit">Enviar</button></form>"""
        return _page("Fale Conosco: sua manifestação", body)

    async def submit(self, request: Request) -> Response:
        if not self._in(request):
            return RedirectResponse("/login?expirada=1", status_code=303)
        values = {k: str(v) for k, v in (await request.form()).items()}
        self.submissions.append(values)
        if self.expire_on_submit:
            self.sessions.discard(request.cookies.get("sessao", ""))
            return RedirectResponse("/login?expirada=1", status_code=303)
        errors = _validate(values)
        key = (values.get("objeto", ""), values.get("tipo", ""))
        if not errors and key in self.filed:
            shown = f" (protocolo {self.filed[key]})" if self.duplicate_shows_protocol else ""
            errors = [f"Já existe manifestação registrada para este objeto{shown}."]
        if errors:
            return self._form(values, errors)
        number = str(next(self.serials))
        self.filed[key] = number
        return RedirectResponse(f"/faleconosco/protocolo/{number}", status_code=303)

    async def confirmation(self, request: Request) -> Response:
        await asyncio.sleep(self.slow_confirmation_s)
        number = html.escape(request.path_params["number"])
        body = f"""<p>Sua manifestação foi registrada. Acompanhe pelo número abaixo.</p>
<p>Número do protocolo: <strong>{number}</strong></p><p>Prazo de resposta: até 5 dias úteis.</p>"""
        return _page("Manifestação registrada", body)


def _validate(values: dict[str, str]) -> list[str]:
    errors = []
    if not S10.match(values.get("objeto", "")):
        errors.append("Código do objeto inválido: informe 13 caracteres, como AA123456789BR.")
    if not values.get("destinatario", "").strip():
        errors.append("Informe o nome do destinatário.")
    if values.get("embalagem") not in ("C", "E"):
        errors.append("Selecione o tipo de embalagem.")
    if not 10 <= len(values.get("descricao", "").strip()) <= 2000:
        errors.append("Descreva o ocorrido (de 10 a 2000 caracteres).")
    email = values.get("email", "")
    if not E_MAIL.match(email):
        errors.append("Informe um e-mail válido para a resposta.")
    elif email.endswith(".invalid"):
        errors.append(f"E-mail de resposta não aceito: {email} (domínio inexistente).")
    if values.get("tipo") not in TYPES or values.get("motivo") not in MOTIVOS:
        errors.append("Selecione o tipo de manifestação e o motivo.")
    return errors


def _alert(message: str) -> str:
    return f'<p role="alert">{html.escape(message)}</p>' if message else ""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>{title} - Correios</title>
<style>{STYLE}</style></head><body><header>Correios <span>Fale Conosco</span></header><h1>{title}</h1>
{body}</body></html>"""
    )
