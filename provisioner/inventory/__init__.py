"""The inventory: typed model, parsing and validation, names, passwords, the YAML round trip,
every safe edit, the vault. No click, no Ansible."""
