"""What a course installs, pinned: the student wheel of backprop-ninja (no solutions, the course's
rules inside) built here byte for byte the same each time, its sha256, and its dependencies at the
versions installed where `ninja course init` ran.

The wheel is plain zip work (PEP 427: the package's files, then METADATA, WHEEL, entry_points.txt
and RECORD in NAME-VERSION.dist-info), so building it needs no build backend and no network.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ninja import __version__

TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # CPU wheels: a grader needs no GPU
EPOCH = (1980, 1, 1, 0, 0, 0)  # every member's date: the same wheel, the same hash
WHEEL = "Wheel-Version: 1.0\nGenerator: backprop-ninja\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
SCRIPTS = {"ninja": "ninja.launch:main", "backprop-ninja": "ninja.launch:main"}


def wheel_name() -> str:
    return f"backprop_ninja-{__version__}-py3-none-any.whl"


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata(requirements: list[str]) -> str:
    lines = ["Metadata-Version: 2.1", "Name: backprop-ninja", f"Version: {__version__}", "Requires-Python: >=3.10"]
    return "\n".join(lines + [f"Requires-Dist: {r}" for r in requirements]) + "\n"


def build_wheel(package_root: Path, into: Path, requirements: list[str]) -> Path:
    """The wheel of the `ninja` package under `package_root` (a course's copy), in `into`."""
    info = f"backprop_ninja-{__version__}.dist-info"
    members = {
        path.relative_to(package_root).as_posix(): path.read_bytes()
        for path in sorted((package_root / "ninja").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    members[f"{info}/METADATA"] = metadata(requirements).encode()
    members[f"{info}/WHEEL"] = WHEEL.encode()
    scripts = "".join(f"{name} = {target}\n" for name, target in SCRIPTS.items())
    members[f"{info}/entry_points.txt"] = f"[console_scripts]\n{scripts}".encode()
    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in members.items())
    members[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    into.mkdir(parents=True, exist_ok=True)
    wheel = into / wheel_name()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            member = zipfile.ZipInfo(name, EPOCH)
            member.external_attr = 0o644 << 16
            member.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(member, data)
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pinned(requirement: str) -> str:
    """`numpy>=1.24` -> `numpy==2.4.6` (the version installed here, less a local label like
    +cpu); a requirement whose package is not installed here (its marker is false) stays as it is."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    name = match.group(1) if match else requirement
    marker = requirement.split(";", 1)[1].strip() if ";" in requirement else ""
    try:
        installed = version(name).split("+")[0]
    except PackageNotFoundError:
        return requirement
    return f"{name}=={installed}" + (f"; {marker}" if marker else "")


def pinned_requirements(requirements: list[str]) -> list[str]:
    return [pinned(r) for r in requirements]


def install_lines(requirements: list[str], wheel: str) -> list[str]:
    """pip commands that install exactly these: torch from the CPU index, the rest from PyPI,
    then the wheel with no dependencies of its own to resolve."""
    torch = [shlex.quote(r) for r in requirements if r.startswith("torch")]
    rest = " ".join(shlex.quote(r) for r in requirements if not r.startswith("torch"))
    lines = [f"python -m pip install --index-url {TORCH_INDEX} {torch[0]}"] if torch else []
    return lines + [f"python -m pip install {rest}", f"python -m pip install --no-deps {shlex.quote(wheel)}"]
