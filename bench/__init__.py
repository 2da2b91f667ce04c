"""Benchmarks (not tests): OCPP ingest throughput and memory per connected station."""
