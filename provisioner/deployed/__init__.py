"""What is deployed on the hosts, read back by a read-only play: `status`, and the accounts plan of `deploy --check`."""
