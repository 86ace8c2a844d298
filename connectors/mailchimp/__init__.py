"""Mailchimp audiences and email activity."""
