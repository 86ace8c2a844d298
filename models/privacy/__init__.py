"""Privacy: hashed identifiers, the suppression list and erasure."""
