"""OCPP 1.6J: one handler module per functional block, composed in `station.V16Station`."""
