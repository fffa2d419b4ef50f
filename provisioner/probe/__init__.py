"""Talk to servers from outside, like a mail client: `mailprov check` and client settings."""
