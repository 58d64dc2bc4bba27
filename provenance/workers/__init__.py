"""Watch workers of a team store: the queue in PostgreSQL and the worker loop."""
