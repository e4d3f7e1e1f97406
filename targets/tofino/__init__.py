"""Tofino (TNA): the open-source Tofino compiler wrapper; see README.md beside this file."""
