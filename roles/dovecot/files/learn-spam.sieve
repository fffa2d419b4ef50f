# Managed by mailprov: a message moved or copied into Junk is learned as spam.
require ["vnd.dovecot.pipe", "copy", "imapsieve"];
pipe :copy "rspamd-learn-spam";
