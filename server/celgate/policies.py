"""Where the shipped policy library lives: inside the wheel, or in a source checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def default_policies() -> Path:
    """The embedded library (`celgate/_policies` in a wheel), else the checkout's `policies/`."""
    packaged = Path(str(resources.files("celgate"))) / "_policies"
    if (packaged / "celgate.yaml").is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "policies"
    if (checkout / "celgate.yaml").is_file():
        return checkout
    raise FileNotFoundError("the shipped policy library was not found; pass --policies PATH")
