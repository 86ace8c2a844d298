"""The Meta Graph API sandbox server."""
