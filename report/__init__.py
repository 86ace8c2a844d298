"""The HTML report and its data, read from the BI views."""
