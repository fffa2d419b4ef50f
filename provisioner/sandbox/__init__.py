"""Local Debian containers: the sandbox and the machines rehearsals use."""
