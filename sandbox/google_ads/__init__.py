"""The Google Ads API sandbox server."""
