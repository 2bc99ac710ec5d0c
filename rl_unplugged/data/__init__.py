"""Data layer: field names, episodes, raw logs, transitions and loaders."""
