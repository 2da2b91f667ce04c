"""Billing: tariffs in the product (`tariffs`) and the cost of charging sessions (`costs`).

The arithmetic is `backend.pricing`'s, a pure engine; this package stores tariffs, chooses and
freezes one when a session starts, and prices sessions as their readings arrive.
"""
