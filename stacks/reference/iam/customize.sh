# iam, in the image root at build time. Packages are installed; every node
# gets its own slapd config and glewlwyd state at boot (roles/iam/setup.sh),
# so drop what the package scripts made for this one build host.
set -eu

# slapd's postinst built a "nodomain" database with a random admin password.
rm -rf /etc/ldap/slapd.d /var/lib/ldap
install -d -m 0750 -o openldap -g openldap /etc/ldap/slapd.d /var/lib/ldap
# The SysV script stays on disk; our native slapd.service replaces it.
# Keep a later dpkg-reconfigure/upgrade from building a database again.
printf '%s\n' \
  'SET slapd/no_configuration true' \
  'SET slapd/password1 ' 'SET slapd/password2 ' \
  'SET slapd/internal/adminpw ' 'SET slapd/internal/generated_adminpw ' \
  | debconf-communicate slapd > /dev/null

# glewlwyd's postinst (dbconfig-common, sqlite3) made a database with the
# stock admin/password account, and a config pointing at it.
rm -rf /var/lib/dbconfig-common/sqlite3/glewlwyd
rm -f /etc/glewlwyd/glewlwyd-db.conf /var/log/glewlwyd.log
install -d -m 0750 -o glewlwyd -g root /var/lib/glewlwyd
# The schema must be in the image (docs are excluded): setup.sh loads it on a
# disk without a database.
schema=/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3
test -s "$schema"
# glewlwyd's empty database (the package's schema, with its stock admin row)
# is the same on every node, so it is made here rather than at each node's
# first boot (seconds of sqlite under TCG). setup.sh rewrites the admin's
# password and its own rows at every boot, before glewlwyd may start.
db=/var/lib/glewlwyd/glewlwyd.db
rm -f "$db"
{ echo 'BEGIN;'; cat "$schema"; echo 'COMMIT;'; } | sqlite3 -bail "$db"
chown glewlwyd:root "$db"
chmod 0600 "$db"
