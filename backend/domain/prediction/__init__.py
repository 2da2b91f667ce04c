"""Demand prediction per site: the model (`model`, pure and explained) and the forecast of a
site from its session history (`demand`)."""
