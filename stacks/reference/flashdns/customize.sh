# Database and zone are made per node at first boot (roles/flashdns/setup.sh).
rm -f /var/lib/powerdns/pdns.sqlite3 /etc/powerdns/pdns.d/*
