"""Staff in the console: users made with `mibarrio user add`, signed in through the login form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.passwords import hash_password
from storage import staff
from storage.db import transaction
from storage.enums import StaffRole
from storage.models import Macrodistrict, Zone

PASSWORD = "contraseña-larga-1"
BASE = "https://localhost"  # console cookies are Secure: the test client sends them over https
CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def add_staff(
    sessions: sessionmaker[Session],
    email: str,
    role: StaffRole,
    *,
    zone: str | None = None,
    macro: str | None = None,
) -> int:
    with transaction(sessions) as session:
        found_zone = session.query(Zone).filter_by(name=zone).one() if zone else None
        found_macro = session.query(Macrodistrict).filter_by(name=macro).one() if macro else None
        user = staff.add_user(
            session,
            email,
            role,
            hash_password(PASSWORD),
            zone=found_zone,
            macrodistrict=found_macro,
        )
        return user.id


@dataclass
class Browser:
    """A staff member's browser: the Flask test client over https, with the form's CSRF token."""

    client: Any

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, base_url=BASE, **kwargs)

    def token(self, path: str) -> str:
        page = self.get(path).get_data(as_text=True)
        found = CSRF.search(page)
        assert found, f"no CSRF token on {path}"
        return found.group(1) or found.group(2)

    def post(self, path: str, data: dict[str, Any], *, form: str | None = None, **kw: Any) -> Any:
        """POST a form the way the page would, with the token from `form` (default: path)."""
        page = form or path
        fields = {"csrf_token": self.token(page), **data}
        # Over https Flask-WTF also checks the Referer is this site, as a browser sends it.
        headers = {"Referer": BASE + page}
        return self.client.post(path, data=fields, base_url=BASE, headers=headers, **kw)

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.post("/admin/login", {"email": email, "password": password})


@pytest.fixture
def browser(app: Any) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def new_browser(app: Any) -> Any:
    return lambda: Browser(app.test_client())
