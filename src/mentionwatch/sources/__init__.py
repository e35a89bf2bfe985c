"""Platform sources: one module per platform behind the `Source` interface in base.py."""
