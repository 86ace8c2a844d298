"""HubSpot CRM: contacts, owners and sales touches."""
