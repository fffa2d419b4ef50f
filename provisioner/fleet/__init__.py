"""A fleet's operations that span several hosts: moving a domain between mailbox back ends."""
