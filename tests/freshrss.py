"""A real FreshRSS (the Google Reader API server of ../shared/sync-server) on 127.0.0.1.

`FreshRSS.start` runs the shared script, which installs PHP from Debian when it is missing;
when that cannot be done, the tests that need the server skip and say why. One server runs
for the whole session; every test gets a user of its own (`new_user`), so tests never see
each other's feeds or marks.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx

from tests.helpers import SHARED

SCRIPT = SHARED / "sync-server" / "start-freshrss.sh"
API = "/api/greader.php"


class Unavailable(Exception):
    """FreshRSS cannot run here; the message says why."""


@dataclass
class User:
    name: str
    api_password: str
    server: "FreshRSS"

    @property
    def api_url(self) -> str:
        return self.server.base + API

    def client(self) -> "ApiClient":
        return ApiClient(self)

    def refresh(self) -> None:
        """FreshRSS fetches every feed of this user now."""
        self.server.run_script("refresh", str(self.server.data), str(self.server.src), self.name)


class ApiClient:
    """The API as a plain HTTP client uses it: what another device does to the account."""

    def __init__(self, user: User) -> None:
        self.http = httpx.Client(base_url=user.api_url + "/", timeout=60, trust_env=False)
        answer = self.http.post("accounts/ClientLogin", data={"Email": user.name, "Passwd": user.api_password})
        answer.raise_for_status()
        auth = next(line[5:] for line in answer.text.splitlines() if line.startswith("Auth="))
        self.http.headers["Authorization"] = f"GoogleLogin auth={auth}"
        self.token = self.http.get("reader/api/0/token").text.strip()

    def post(self, path: str, data: list[tuple[str, str]]) -> str:
        answer = self.http.post(f"reader/api/0/{path}", content=urlencode([*data, ("T", self.token)]),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer.raise_for_status()
        return answer.text

    def get(self, path: str, **params: object) -> dict:
        answer = self.http.get(f"reader/api/0/{path}", params={"output": "json", **params})
        answer.raise_for_status()
        return answer.json()

    def subscribe(self, url: str, label: str = "") -> str:
        stream = self.http.post("reader/api/0/subscription/quickadd", data={"quickadd": url, "T": self.token})
        stream.raise_for_status()
        stream_id = stream.json()["streamId"]
        if label:
            self.post("subscription/edit", [("ac", "edit"), ("s", stream_id), ("a", f"user/-/label/{label}")])
        return stream_id

    def items(self, stream: str = "user/-/state/com.google/reading-list") -> list[dict]:
        return self.get(f"stream/contents/{stream}", n=1000)["items"]

    def ids(self, stream: str, **params: str) -> set[int]:
        refs = self.get("stream/items/ids", s=stream, n=100000, **params)["itemRefs"]
        return {int(ref["id"]) for ref in refs}

    def starred_titles(self) -> set[str]:
        return {item["title"] for item in self.items("user/-/state/com.google/starred")}

    def close(self) -> None:
        self.http.close()


class FreshRSS:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.src = root / "src"
        self.port = _free_port()
        self.base = ""
        self._users = itertools.count(1)

    def run_script(self, *args: str) -> str:
        done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise Unavailable(f"start-freshrss.sh {args[0]} failed: {done.stderr.strip()[-600:]}")
        return done.stdout.strip()

    def start(self) -> None:
        if not SCRIPT.exists():
            raise Unavailable(f"{SCRIPT} is not available")
        self.base = self.run_script("start", str(self.port), str(self.data), str(self.src)).splitlines()[-1]

    def stop(self) -> None:
        self.run_script("stop", str(self.data))

    def new_user(self) -> User:
        name = f"user{next(self._users)}"
        password = f"{name}-api-pass"
        subprocess.run(["php", str(self.src / "cli" / "create-user.php"), "--user", name,
                        "--password", f"{name}-web-pass", "--api-password", password],
                       env={**os.environ, "DATA_PATH": str(self.data)}, check=True, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
        return User(name, password, self)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
