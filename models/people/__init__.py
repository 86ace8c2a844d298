"""People: identity resolution, classification, scores and rules (pure), and their stores."""
