"""The synthetic Reddit corpus (CC0): templates, the seeded generator, and the generated data."""
