"""Making a capture: fetch a page into the store, record it, send it to witness archives."""
