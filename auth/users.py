"""Users, roles and what each role may do. Enforced on the server: every protected handler and API
endpoint asks ``allowed`` before doing anything.

Users come from a JSON file (POLICYQA_USERS_FILE, default data/users.json, never in the repository)
or from POLICYQA_USERS ("alice:broker:<hash>,bob:supervisor:<hash>"). Passwords are stored as
PBKDF2-SHA256 hashes with a per-user salt; `python app.py user add|passwd|remove|list` manage them,
and a running app sees the change within a second.
With no users configured the app runs single-user on localhost, with every right, and says so.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

ROLES = ("broker", "trainer", "supervisor", "admin")
# What each right is for, and the roles that have it.
RIGHTS = {
    "ask": set(ROLES),                        # chat, the /ask API, feedback
    "kb_view": set(ROLES),                    # browse and search documents and units
    "quiz": {"trainer", "supervisor", "admin"},  # 题库 and quiz exports
    "audit": {"supervisor", "admin"},         # 审计: filter, open, review, export, stats
    "kb_edit": {"admin"},                     # upload and remove documents
}
LOCAL_USER = "local"
ITERATIONS = 200_000


class Forbidden(PermissionError):
    """The user's role may not do this."""


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    again = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(again, base64.b64decode(digest))


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str = ""


class Users:
    """The users in force. Loaded from the file, and read again when the file changes (a new user, a
    changed password or a removal takes effect without a restart). Single-user mode is decided at
    start: adding the first user to a running single-user app locks it rather than opening it."""

    RECHECK = 1.0  # seconds between looks at the file's modification time

    def __init__(self, users: dict[str, User], path: Path | None = None, env: str | None = None) -> None:
        self._users = users
        self._single = not users
        self.path, self.env = path, env
        self._stamp = self._mtime()
        self._checked = time.monotonic()

    def _mtime(self) -> float:
        return self.path.stat().st_mtime if self.path is not None and self.path.exists() else 0.0

    @property
    def users(self) -> dict[str, User]:
        if self.path is not None and time.monotonic() - self._checked >= self.RECHECK:
            self._checked = time.monotonic()
            stamp = self._mtime()
            if stamp != self._stamp:
                self._stamp = stamp
                self._users = self.read(self.path, self.env)
        return self._users

    @classmethod
    def load(cls, path: Path, env: str | None = None) -> "Users":
        return cls(cls.read(path, env), path, env)

    @staticmethod
    def read(path: Path, env: str | None = None) -> dict[str, User]:
        users: dict[str, User] = {}
        if path.exists():
            for name, row in json.loads(path.read_text(encoding="utf-8")).get("users", {}).items():
                users[name] = User(name, row["role"], row["password_hash"])
        for entry in filter(None, (env if env is not None else os.environ.get("POLICYQA_USERS", "")).split(",")):
            name, role, password_hash = entry.strip().split(":", 2)
            users[name] = User(name, role, password_hash)
        bad = sorted({u.role for u in users.values()} - set(ROLES))
        if bad:
            raise ValueError(f"unknown role(s) {', '.join(bad)}; roles are {', '.join(ROLES)}")
        return users

    @property
    def single_user(self) -> bool:
        return self._single

    def authenticate(self, name: str, password: str) -> bool:
        """An unknown name costs the same hashing as a known one, so timing does not reveal names."""
        user = self.users.get(name)
        ok = check_password(password, user.password_hash if user else _DECOY)
        return bool(user) and ok

    def role_of(self, name: str | None) -> str | None:
        if self.single_user:
            return "admin"
        user = self.users.get(name or "")
        return user.role if user else None

    def allowed(self, name: str | None, right: str) -> bool:
        role = self.role_of(name)
        return role is not None and role in RIGHTS[right]

    def require(self, name: str | None, right: str) -> str:
        """The user's name if they have the right; otherwise Forbidden."""
        if not self.allowed(name, right):
            raise Forbidden(f"无权限：角色 {self.role_of(name) or '未登录'} 不能使用此功能（{right}）。"
                            f" / Not allowed for this role.")
        return name or LOCAL_USER


_DECOY = hash_password(secrets.token_hex(16))


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def remove_user(path: Path, name: str) -> None:
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"users": {}}
    if name not in data["users"]:
        raise ValueError(f"no user named {name}")
    del data["users"][name]
    _write(path, data)


def list_users(path: Path) -> list[tuple[str, str]]:
    """(name, role) of the users in the file."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"users": {}}
    return sorted((name, row["role"]) for name, row in data["users"].items())


def add_user(path: Path, name: str, role: str, password: str) -> None:
    """Create or replace a user in the users file, storing only the password's hash."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not name or ":" in name or "," in name:
        raise ValueError("a user name is non-empty and has no ':' or ','")
    if len(password) < 8:
        raise ValueError("a password has at least 8 characters")
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"users": {}}
    data["users"][name] = {"role": role, "password_hash": hash_password(password)}
    _write(path, data)
