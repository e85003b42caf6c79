"""Request bodies (R28): the caller is checked before a byte of the body is read, every
body has a cap, and a large JSON body does not stall other requests.

The service runs in a real server (uvicorn, in a thread) where what the server reads
matters: requests are written on a raw socket, so that a test decides how much of a body
is ever sent, and sees an answer that comes before the body.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from geo_service import auth
from geo_service.app import create_app
from geo_service.settings import Settings
from layers.store.store import Store
from tests.browser import serve
from tests.people import TESTER

MiB = 2**20
BOUNDARY = "r28boundary"


def _key(store: Store, role: str) -> str:
    return auth.create_key(store, name=f"{role} 测试", role=role, actor=TESTER)[1]


def _temp_bytes() -> int:
    """Bytes in this process's open, unlinked temporary files: where a server spools an
    upload (``SpooledTemporaryFile`` rolls over to one of these)."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(tempfile.gettempdir()) and target.endswith("(deleted)"):
                total += os.fstat(int(fd)).st_size
        except OSError:
            continue  # closed meanwhile
    return total


class _Peak:
    """The largest :func:`_temp_bytes` seen while the block runs."""

    def __enter__(self) -> _Peak:
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.bytes = max(self.bytes, _temp_bytes())
            time.sleep(0.01)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _raw(
    base: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Iterator[bytes] | None = None,
    *,
    timeout_s: float = 10,
) -> tuple[int, dict[str, Any], int]:
    """Send a request on a raw socket, the body from ``body`` in a thread for as long as
    the server takes it; the status, the JSON answer and how many body bytes were sent."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout_s)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(head.encode() + b"\r\n")
    sent = [0]

    def send_body() -> None:
        try:
            for chunk in body or ():
                sock.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server answered and closed: the rest is not wanted

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()  # socket.timeout (a failure) if the server waits for the body
        answer = json.loads(response.read())
    finally:
        sock.close()
        sender.join(timeout=timeout_s)
    return response.status, answer, sent[0]


def _multipart_head(name: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def _upload(size: int, *, chunk: int = MiB) -> Iterator[bytes]:
    """A multipart body carrying a ``size``-byte file, in chunks."""
    yield _multipart_head("清单.geojson")
    for start in range(0, size, chunk):
        yield b" " * min(chunk, size - start)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _length(parts: Iterator[bytes]) -> int:
    return sum(map(len, parts))


UPLOAD = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as base:
        yield base


def test_an_anonymous_upload_is_refused_before_its_body_is_read(served: str) -> None:
    """50 MB offered by someone without a key: 401 at once, nothing spooled."""
    size = 50 * MiB
    headers = UPLOAD | {"Content-Length": str(_length(_upload(size, chunk=size)))}
    with _Peak() as peak:
        status, answer, _ = _raw(served, "POST", "/stock-lists?year=2028", headers, _upload(size))
    assert (status, answer["code"]) == (401, "authentication_required")
    assert peak.bytes < MiB, f"{peak.bytes} bytes spooled for a caller without a key"


def test_a_wrong_key_or_role_is_refused_before_the_body(served: str, store: Store) -> None:
    """A JSON route and an upload route, each without sending a byte of the 30 MB body:
    the answer comes anyway (the server does not wait for a body it will not read)."""
    json_30mb = {"Content-Type": "application/json", "Content-Length": str(30 * MiB)}
    upload_50mb = UPLOAD | {"Content-Length": str(50 * MiB)}
    planner = {"Authorization": f"Bearer {_key(store, 'planner')}"}
    cases = [
        ("/match", json_30mb, 401, "authentication_required"),
        ("/match", json_30mb | {"X-API-Key": "gsk_not-a-key"}, 401, "authentication_required"),
        ("/reservations", json_30mb | {"Authorization": "Bearer gsk_x"}, 401, None),
        ("/stock-lists?year=2028", upload_50mb | planner, 403, "forbidden"),
        ("/ledgers/parks?quarter=2026Q4", upload_50mb | planner, 403, "forbidden"),
    ]
    for path, headers, status, code in cases:
        got, answer, _ = _raw(served, "POST", path, headers)
        assert got == status, (path, answer)
        assert code is None or answer["code"] == code, (path, answer)


def test_a_browser_change_from_another_site_is_refused_before_the_body(
    served: str, store: Store
) -> None:
    """A signed-in browser's upload sent from another site (R35): 403 at once, without a
    byte of the 50 MB body read — and from this site, the route itself asks for the
    session's CSRF token."""
    login = httpx.post(f"{served}/login", data={"key": _key(store, "land_bureau")})
    session = login.cookies["gs_session"]
    headers = UPLOAD | {"Content-Length": str(50 * MiB), "Cookie": f"gs_session={session}"}
    got, answer, sent = _raw(
        served, "POST", "/stock-lists?year=2028", headers | {"Origin": "http://evil.example"}
    )
    assert (got, answer["code"], sent) == (403, "csrf_refused", 0)


def test_a_body_sent_to_a_change_that_takes_none_is_capped_too(served: str, store: Store) -> None:
    """A signed-in browser's release (no body of its own) may carry a small form with its
    CSRF token, which is read: a 50 MB one is refused from its length, unread (found by
    an outside probe: 400 MB were spooled before the 403)."""
    login = httpx.post(f"{served}/login", data={"key": _key(store, "planner")})
    cookie = {"Cookie": f"gs_session={login.cookies['gs_session']}"}
    headers = UPLOAD | cookie | {"Content-Length": str(50 * MiB)}
    got, answer, sent = _raw(served, "POST", "/reservations/999999/release", headers)
    assert (got, answer["code"], sent) == (413, "body_too_large", 0)


def test_a_body_over_its_cap_is_refused_from_its_length(served: str, store: Store) -> None:
    """Staff with a body over the cap declared in Content-Length: 413 naming the limit,
    before a byte is sent."""
    planner = {"Authorization": f"Bearer {_key(store, 'planner')}"}
    headers = planner | {"Content-Type": "application/json", "Content-Length": str(30 * MiB)}
    status, answer, _ = _raw(served, "POST", "/match", headers)
    assert (status, answer["code"]) == (413, "body_too_large")
    assert "1 MiB" in answer["message"]
    assert answer["details"] == {"limit_bytes": MiB}


@pytest.fixture
def small_caps(settings: Settings) -> Settings:
    return settings.model_copy(update={"upload_max_bytes": MiB, "json_max_bytes": 64 * 1024})


def test_an_upload_over_its_cap_is_refused_and_nothing_staged(
    small_caps: Settings, store: Store
) -> None:
    bureau = {"Authorization": f"Bearer {_key(store, 'land_bureau')}"}
    big = b'{"type": "FeatureCollection", "features": []}' + b" " * (2 * MiB)
    with TestClient(create_app(small_caps)) as client:
        response = client.post(
            "/stock-lists?year=2028", headers=bureau, files={"file": ("清单.geojson", big)}
        )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "body_too_large"
    assert "1 MiB" in response.json()["message"]
    assert response.headers["x-request-id"]
    assert store.releases.all() == []


def test_a_chunked_body_over_its_cap_is_refused(small_caps: Settings, store: Store) -> None:
    """No Content-Length (chunked transfer): counted as it comes, refused past the cap."""
    planner = {"Authorization": f"Bearer {_key(store, 'planner')}"}
    bureau = {"Authorization": f"Bearer {_key(store, 'land_bureau')}"}

    def pieces(total: int) -> Iterator[bytes]:
        yield b'{"name": "x", "pad": "'
        for _ in range(total // 8192):
            yield b"a" * 8192
        yield b'"}'

    with TestClient(create_app(small_caps)) as client:
        answers = [
            client.post("/match", headers=planner | {"Content-Type": "application/json"},
                        content=pieces(256 * 1024)),
            client.post("/stock-lists?year=2028", headers=bureau | UPLOAD,
                        content=_upload(3 * MiB, chunk=64 * 1024)),
        ]  # fmt: skip
    for response in answers:
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, response.text
        assert response.json()["code"] == "body_too_large"
    assert store.releases.all() == []


def test_the_caps_and_the_credentials_are_declared_in_the_openapi_document(
    settings: Settings,
) -> None:
    document = create_app(settings).openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            declared = "413" in operation["responses"]
            changes = method in ("post", "put", "patch", "delete")
            assert declared == ("requestBody" in operation or changes), (method, path)


def test_other_requests_are_answered_while_a_large_json_is_decoded(
    settings: Settings, store: Store
) -> None:
    """A 30 MB JSON body (allowed here by a raised cap) is decoded while another request
    comes: that one is answered at once, not after the decoding."""
    planner = {"Authorization": f"Bearer {_key(store, 'planner')}"}
    body = json.dumps({"name": "x", "pad": [{"a": i, "b": "文字"} for i in range(900_000)]})
    data = body.encode()
    assert len(data) > 30 * 10**6
    raised = settings.model_copy(update={"json_max_bytes": 64 * MiB})
    sent = threading.Event()
    timings: dict[str, float] = {}

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), MiB):
            yield data[start : start + MiB]
        sent.set()

    with serve(create_app(raised)) as base:
        headers = planner | {"Content-Type": "application/json", "Content-Length": str(len(data))}

        def post() -> None:
            status, _, _ = _raw(base, "POST", "/match", headers, chunks(), timeout_s=120)
            timings["post"] = time.monotonic()
            timings["post_status"] = status

        poster = threading.Thread(target=post)
        poster.start()
        assert sent.wait(60)
        started = time.monotonic()
        time.sleep(0.1)  # the last bytes reach the server, which starts decoding
        asked = time.monotonic()
        response = httpx.get(f"{base}/conformance", timeout=60)
        answered = time.monotonic()
        poster.join(120)
    assert response.status_code == 200
    assert timings["post_status"] == 400  # not a project request: read and refused
    # Answered while the body was still being decoded, not after: the decoding takes
    # seconds in a thread, a GET milliseconds (on the event loop, the GET had to wait
    # for the whole decoding).
    assert answered < timings["post"], "the GET waited for the large body's decoding"
    assert answered - asked < (timings["post"] - started) / 3


def test_login_form_and_routes_without_a_role_check_still_read_their_body(
    client: TestClient, store: Store
) -> None:
    key = _key(store, "planner")
    response = client.post("/login", data={"key": key, "next": "/"}, follow_redirects=False)
    assert response.status_code in (302, 303), response.text
