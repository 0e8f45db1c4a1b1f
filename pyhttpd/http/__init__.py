"""HTTP/1.1: socket bytes <-> Request, and the request's trip through the module hooks.

Knows no processes or threads: an MPM hands a connected socket to `connection.serve_connection`
and gets back whether the connection is done, idle in keep-alive, or to be closed. Only
`connection.py` touches a socket; the parser and writer are sans-I/O.
"""
