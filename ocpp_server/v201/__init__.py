"""OCPP 2.0.1: one handler module per functional block, composed in `station.V201Station`."""
