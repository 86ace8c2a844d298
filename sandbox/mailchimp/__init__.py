"""The Mailchimp Marketing API sandbox server."""
