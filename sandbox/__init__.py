"""Local servers that speak each platform's documented API, with deterministic data.

Used by ``leadflow demo`` and by the tests; never imported by ``connectors``.
"""
