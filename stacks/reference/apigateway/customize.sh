# apigateway at image build time: only our site, with the modules it uses.
set -eu
a2dissite -q 000-default
a2enmod -q proxy proxy_http proxy_balancer lbmethod_byrequests slotmem_shm ssl auth_openidc headers
a2ensite -q ultracloud-gateway
a2enconf -q ultracloud-lean ultracloud-iam-jwks
