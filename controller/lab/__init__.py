"""The lab: a Secured L3VPN topology built from network namespaces on one host."""
