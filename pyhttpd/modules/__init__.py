"""Apache modules, one file each: a directive table on top, hooks at the bottom.

`registry.py` maps LoadModule names to the files that implement them. A module never imports the
server, an MPM or another module; shared behaviour goes through a provider registry.
"""
