"""The LinkedIn Marketing API sandbox server."""
