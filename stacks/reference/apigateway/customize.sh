# apigateway at image build time: only our site, with the modules it uses.
set -eu
a2dissite -q 000-default
a2enmod -q proxy proxy_http auth_openidc headers
a2ensite -q ultracloud-gateway
a2enconf -q ultracloud-lean
