"""Compatibility package for code written against the original ΣLANG layout."""
