"""Meta Lead Ads and Ads Insights through the Graph API."""
