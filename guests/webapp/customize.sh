# The web app guest's root, last step of its build (chroot): nothing but
# what the app and its init need.
set -eu
# No logins and no package work in the guest: its console is a log.
rm -rf /var/cache/man /usr/share/lintian /usr/share/bash-completion
# The init is the system: no getty, no service manager to start.
test -x /usr/lib/ultracloud/webapp/init
test -r /usr/lib/ultracloud/webapp/webapp.js
node --version
