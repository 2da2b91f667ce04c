"""The OCPP protocol adapter: translates OCPP 1.6J and 2.0.1 messages into domain calls."""
