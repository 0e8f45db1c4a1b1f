"""The server-status views: one scoreboard snapshot -> one StatusReport -> HTML, ?auto or text.

`model.py` builds the report (Apache's counting and arithmetic), `formats.py` holds Apache's
number and time formats, and `html.py`, `auto.py`, `text.py` render it. `advisor.py` and
`measure.py` are `pyhttpdctl tune`'s arithmetic and its psutil measurements. Never imports mpm,
server or a module: mod_status and pyhttpdctl both call into here.
"""
