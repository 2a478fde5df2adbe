"""Fixtures for the Envoy e2e tests; the machinery lives in harness.py so tests can import its names."""

from tests.e2e.envoy.harness import gateway, keys, own_gateway, prompt_only_gateway

__all__ = ["gateway", "keys", "own_gateway", "prompt_only_gateway"]
