"""Great Expectations suites as code: data-quality and SLA rules over the warehouse tables.

The suites arrive with the SLA issue; the package exists so that flows can depend on it.
"""
