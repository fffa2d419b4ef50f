"""The DNS records `mailprov dns` prints, their live check, and the DKIM key fetch."""
