"""R38: the server's own access log keeps one bounded line per request, whatever the
request's query (uvicorn writes the path and query whole otherwise: 64 KB for one filter),
and no key or token a caller put in a URL."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_long_query_leaves_one_short_access_line(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "geo_service", "serve", "--db", f"sqlite:///{tmp_path / 's.db'}",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                httpx.get(f"{base}/conformance", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        long_filter = "name = '" + "长" * 3000 + "'"  # 3,000 characters, 27 KB encoded
        answer = httpx.get(f"{base}/collections/parks/items", params={"filter": long_filter})
        assert answer.status_code < 500
        # A key put in a URL by mistake is refused, and not kept in the log either.
        httpx.get(f"{base}/collections", params={"api_key": "gsk_" + "S3cr3t" * 7})
    finally:
        server.terminate()
        log, _ = server.communicate(timeout=30)
    assert "S3cr3t" not in log and "api_key=gsk_…" in log, log[-2000:]
    lines = [line for line in log.splitlines() if "/collections/parks/items" in line]
    assert len(lines) == 1, log[-2000:]
    assert len(lines[0].encode()) < 1_000 and "chars)" in lines[0], lines[0][:400]
