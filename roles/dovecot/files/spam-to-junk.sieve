# Installed by mailprov. rspamd's "add header" action marks likely spam with
# X-Spam: Yes; it goes into Junk before the user's own rules run.
require ["fileinto", "mailbox"];
if header :is "X-Spam" "Yes" {
  fileinto :create "Junk";
  stop;
}
