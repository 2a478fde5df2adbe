"""The distribution: generated code is current, it coexists with the server, the wheel stands alone."""

from __future__ import annotations

import email
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parent.parent
ALLOWED_DEPS = {"httpx", "grpcio", "protobuf", "cachetools"}


def test_generated_proto_is_current():
    pytest.importorskip("grpc_tools")
    out = subprocess.run(
        [sys.executable, str(SDK / "scripts" / "gen-proto"), "--check"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    "first,second",
    [
        ("celgate.v1.decision_pb2", "celgate_client._proto.celgate.v1.decision_pb2"),
        ("celgate_client._proto.celgate.v1.decision_pb2", "celgate.v1.decision_pb2"),
    ],
)
def test_server_and_sdk_protos_share_one_process(first, second):
    pytest.importorskip("celgate.v1.decision_pb2")
    code = (
        f"import importlib; a = importlib.import_module({first!r}); b = importlib.import_module({second!r});"
        "import celgate_client, celgate.engine;"
        "assert a.CheckRequest.DESCRIPTOR.full_name == b.CheckRequest.DESCRIPTOR.full_name;"
        "b.CheckRequest(action='prompt').SerializeToString(); print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_wheel_installs_alone_in_a_fresh_venv(tmp_path, celgate):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(SDK)],
        check=True,
    )
    (wheel,) = wheels.glob("celgate_client-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = email.message_from_bytes(z.read(next(n for n in names if n.endswith("METADATA"))))
    assert "celgate_client/py.typed" in names
    assert "celgate_client/_proto/celgate/v1/decision_pb2.py" in names
    assert not any(n.startswith("celgate/") for n in names)  # never the server's package
    required = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    names_only = {r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in required}
    assert names_only <= ALLOWED_DEPS, required

    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    py = env / "bin" / "python"
    # The fresh venv gets the runtime deps from this interpreter's site-packages by path only: a
    # path entry is not a site dir, so the server's editable install (a .pth hook) stays invisible.
    site = Path(sysconfig.get_paths()["purelib"])
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    env_site = Path(subprocess.check_output([str(py), "-c", purelib], text=True).strip())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(env_site),
            str(wheel),
        ],
        check=True,
    )
    (env_site / "zz_deps.pth").write_text(f"{site}\n")
    code = (
        "import importlib.util, celgate_client;"
        "assert importlib.util.find_spec('celgate') is None, 'the server package leaked in';"
        f"c = celgate_client.Client({celgate.http_url!r}, principal={{'id': 'u', 'roles': ['user']}});"
        "print(c.check_tool_call('search', {'q': 'x'}).effect,"
        f" celgate_client.Client({celgate.grpc_url!r}).check_tool_call('shell', {{}}).effect)"
    )
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["allow", "deny"]
