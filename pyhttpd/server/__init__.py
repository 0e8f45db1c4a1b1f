"""The server outside the connection: listeners, generations and (later) the master process."""
