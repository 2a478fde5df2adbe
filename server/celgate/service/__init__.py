"""The decision service's process side: policy state and reloading, workers, shutdown."""
