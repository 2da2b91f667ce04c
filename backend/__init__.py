"""VEV-IQ: an open-source, privacy-first charging station management system."""

__version__ = "0.1.0"
