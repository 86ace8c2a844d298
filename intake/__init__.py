"""``leadflow intake``: receive the ad platforms' lead webhooks and load them."""
