"""Google Ads lead form submissions and campaign spend."""
