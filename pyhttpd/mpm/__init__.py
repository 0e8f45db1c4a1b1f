"""The MPMs: which process or thread serves which connection.

Each MPM is a module (`prefork.py`, `worker.py`, `event.py`, mirroring each other's names) with its
directive table and its start-up corrections; the child loops arrive with the process model. An MPM
sees HTTP only as "serve this connection".
"""
