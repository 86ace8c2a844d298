"""The HubSpot sandbox server."""
