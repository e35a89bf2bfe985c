"""mentionwatch: never leave a public mention unanswered."""

__version__ = "0.1.0"
