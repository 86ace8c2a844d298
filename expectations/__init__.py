"""Great Expectations suites as code: data-quality and SLA rules over the warehouse tables.

``leadflow.expectations.runner.run_checks`` validates the SLA rules (``sla_suite``: one Expect…
class per rule) and the loaded data (``quality_suite``) on the warehouse itself and returns plain
outcomes (``checks``). Importing this package does not import Great Expectations.
"""
