"""Test harness: start a real pyhttpd from config text, poll until it answers, stop it by pid."""
