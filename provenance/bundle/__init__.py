"""Evidence bundles: export a self-contained zip, and check one without the store."""
