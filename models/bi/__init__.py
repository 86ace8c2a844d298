"""The BI views the warehouse serves to BI tools."""
