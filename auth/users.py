"""Users, roles and what each role may do. Enforced on the server: every protected handler and API
endpoint asks ``allowed`` before doing anything.

Users come from a JSON file (POLICYQA_USERS_FILE, default data/users.json, never in the repository)
or from POLICYQA_USERS ("alice:broker:<hash>,bob:supervisor:<hash>"). Passwords are stored as
PBKDF2-SHA256 hashes with a per-user salt; `python app.py user add NAME --role ROLE` writes one.
With no users configured the app runs single-user on localhost, with every right, and says so.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
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
    def __init__(self, users: dict[str, User]) -> None:
        self.users = users

    @classmethod
    def load(cls, path: Path, env: str | None = None) -> "Users":
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
        return cls(users)

    @property
    def single_user(self) -> bool:
        return not self.users

    def authenticate(self, name: str, password: str) -> bool:
        user = self.users.get(name)
        return bool(user) and check_password(password, user.password_hash)

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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
