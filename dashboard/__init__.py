"""The ops dashboard under ``/dashboard``: server-rendered pages (Jinja2, autoescaped; its CSS served from the
package) for people who sign in: the alert queue, shipments and their timelines, claims, the carriers' scorecards.

Its front door, for the composition root: :func:`routers` (the pages) and the ``zelo users`` commands
(``dashboard.cli``). It reads the core's tables and moves incidents, messages and claims only through their
features' front doors."""

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from dashboard import alerts, assets, carriers_page, claims_page, login, shipments

    return [login.router, assets.router, alerts.router, shipments.router, claims_page.router, carriers_page.router]
