"""Sample lead export files as the platforms write them."""
