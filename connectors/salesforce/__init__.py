"""Salesforce: Leads, Tasks and Events, Users through the REST and Bulk 2.0 APIs."""
