"""Fixtures for the Envoy e2e tests; the machinery lives in harness.py so tests can import its names."""

from tests.e2e.envoy.harness import dry_run_gateway, gateway, keys, own_gateway, prompt_only_gateway

__all__ = ["dry_run_gateway", "gateway", "keys", "own_gateway", "prompt_only_gateway"]
