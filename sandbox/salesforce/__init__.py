"""A local Salesforce org (REST API, Bulk API 2.0 query, OAuth 2.0 JWT bearer and refresh),
written from https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/ and
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/."""
