"""``make lab``: JupyterLab opens a py:percent chapter as a notebook and saves it back as text.

A real JupyterLab server is started headless on 127.0.0.1 (a free port, a random token) over a
copy of the chapters and ``jupytext.toml``. Its contents API must open a chapter as a
notebook (jupytext's contents manager), a kernel on the project's environment must run the
chapter's parameters cell and ``import mammo_lib`` (from this checkout), a notebook saved
through the API must land on disk as py:percent text, and the server must stop.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "notebooks/01_uci_eda.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A running server: its base URL and token, and a JSON request helper."""

    def __init__(self, url: str, token: str, process: subprocess.Popen) -> None:
        self.url, self.token, self.process = url, token, process

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as response:
            text = response.read()
        return json.loads(text) if text else {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(
        ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("*.ipynb")
    )
    shutil.copy2(ROOT / "jupytext.toml", root / "jupytext.toml")
    # The setting `make lab` writes into the venv, taken from the Makefile itself.
    settings = root / "settings"
    settings.mkdir()
    rule = re.search(r"printf '%s\\n' '(\{.*\})' > \$@", (ROOT / "Makefile").read_text())
    assert rule, "Makefile: no rule writing the JupyterLab settings"
    (settings / "overrides.json").write_text(rule.group(1))
    port, token = _free_port(), secrets.token_hex(16)
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser"]
        + ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"]
        + [f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
        + ["--ServerApp.port_retries=0", f"--LabApp.app_settings_dir={settings}"]
        + (["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(root / "config"),  # no user settings; the venv's apply
            "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        },
    )
    server = Lab(f"http://127.0.0.1:{port}", token, process)
    server.root = root  # type: ignore[attr-defined]
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited: {(root / 'server.log').read_text()[-2000:]}")
        try:
            server.request("GET", "/api/status")
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.5)
    yield server
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)
    log.close()


def _execute(lab: Lab, kernel_id: str, code: str) -> tuple[str, str]:
    """Run `code` on the kernel over its websocket; return (status, stdout text)."""
    import websocket

    ws = websocket.create_connection(
        f"{lab.url.replace('http', 'ws')}/api/kernels/{kernel_id}/channels?token={lab.token}",
        timeout=120,
    )
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "msg_type": "execute_request",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {"code": code, "silent": False, "store_history": False},
                "channel": "shell",
            }
        )
    )
    stdout, status = [], None
    while status is None:
        message = json.loads(ws.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "stream" and message["content"]["name"] == "stdout":
            stdout.append(message["content"]["text"])
        elif kind == "error":
            stdout.append("\n".join(message["content"]["traceback"]))
        elif kind == "execute_reply":
            status = message["content"]["status"]
    ws.close()
    return status, "".join(stdout)


def test_a_chapter_opens_as_a_notebook_and_runs_on_the_projects_kernel(lab: Lab) -> None:
    model = lab.request("GET", f"/api/contents/{CHAPTER}?type=notebook&content=1")
    assert model["type"] == "notebook"
    cells = model["content"]["cells"]
    assert cells[0]["cell_type"] == "markdown" and cells[0]["source"].startswith("# ")
    parameters = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert len(parameters) == 1

    kernel = lab.request("POST", "/api/kernels", {"name": "python3"})
    try:
        code = (
            parameters[0]["source"]
            + "\nimport sys, mammo_lib\nprint('PREFIX', sys.prefix)\n"
            + "print('LIB', mammo_lib.__file__)\n"
        )
        status, out = _execute(lab, kernel["id"], code)
    finally:
        lab.request("DELETE", f"/api/kernels/{kernel['id']}")
    assert status == "ok", out
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert Path(lines["PREFIX"]).resolve() == Path(sys.prefix).resolve()
    assert Path(lines["LIB"]).resolve().is_relative_to(ROOT)


def test_make_lab_opens_python_files_as_notebooks_by_default(lab: Lab) -> None:
    plugin = lab.request("GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    default = plugin["schema"]["properties"]["defaultViewers"]["default"]  # overrides.json
    assert default.get("python") == "Jupytext Notebook", default


def test_a_notebook_saved_in_lab_is_written_back_as_percent_text(lab: Lab) -> None:
    model = lab.request("GET", f"/api/contents/{CHAPTER}?type=notebook&content=1")
    note = "A note added in JupyterLab."
    model["content"]["cells"].insert(
        1, {"cell_type": "markdown", "metadata": {}, "source": note, "id": "lab-note"}
    )
    lab.request(
        "PUT",
        f"/api/contents/{CHAPTER}",
        {"type": "notebook", "format": "json", "content": model["content"]},
    )
    text = (lab.root / CHAPTER).read_text()  # type: ignore[attr-defined]
    assert text.startswith("# %%")
    notebook = jupytext.reads(text, fmt="py:percent")
    assert notebook.cells[1].source == note
    original = jupytext.read(ROOT / CHAPTER)
    assert [c.source for c in notebook.cells[2:]] == [c.source for c in original.cells[1:]]


def test_the_server_stops(lab: Lab) -> None:
    lab.request("POST", "/api/shutdown")
    assert lab.process.wait(timeout=60) is not None
