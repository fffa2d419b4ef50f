"""Ansible options, one run through ansible-runner, progress events."""
