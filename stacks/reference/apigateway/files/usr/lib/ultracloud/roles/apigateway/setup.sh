# apigateway on node06, at every boot before Apache.
#
# mod_auth_openidc fetches a JWKS only over https, and IAM (glewlwyd) serves
# plain http on the cluster network. So Apache itself gives the module an
# https view of IAM's JWKS on loopback (127.0.0.1:8443, a self-signed
# certificate made here once), balanced over every iam node, so the gateway
# keeps validating tokens while one IAM node is down. Also the module's
# crypto passphrase (it insists on one even for bearer-only use), derived
# from the cluster secret.
set -eu
dir=/var/lib/ultracloud/apigateway
mkdir -p "$dir"
if [ ! -s "$dir/jwks-proxy.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/jwks-proxy.key.tmp" -out "$dir/jwks-proxy.crt.tmp" 2>/dev/null
  chmod 0600 "$dir/jwks-proxy.key.tmp"
  mv "$dir/jwks-proxy.key.tmp" "$dir/jwks-proxy.key"
  mv "$dir/jwks-proxy.crt.tmp" "$dir/jwks-proxy.crt"
fi
members=$(awk '{ printf "    BalancerMember http://%s:4593 connectiontimeout=5 timeout=15 retry=10\n", $2 }' /usr/lib/ultracloud/roles/iam.nodes)
[ -n "$members" ] || { echo "apigateway setup: no iam node listed" >&2; exit 1; }
pass=$(printf 'apigateway:%s' "$(cat /run/ultracloud/secret)" | sha256sum | cut -c1-32)
umask 027
cat > /run/ultracloud/apigateway-iam.conf <<CONF
# Written at boot by apigateway/setup.sh: IAM's JWKS over https on loopback.
Listen 127.0.0.1:8443 https
<VirtualHost 127.0.0.1:8443>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile $dir/jwks-proxy.crt
    SSLCertificateKeyFile $dir/jwks-proxy.key
    <Proxy balancer://iam>
$members
    </Proxy>
    ProxyPass        /api/oidc/jwks balancer://iam/api/oidc/jwks
    ProxyPassReverse /api/oidc/jwks balancer://iam/api/oidc/jwks
</VirtualHost>
CONF
cat > /run/ultracloud/apigateway-oidc.conf <<CONF
# Written at boot by apigateway/setup.sh.
OIDCOAuthVerifyJwksUri https://127.0.0.1:8443/api/oidc/jwks
# The https hop is our own Apache on loopback (self-signed); nothing leaves the node.
OIDCSSLValidateServer Off
OIDCOAuthSSLValidateServer Off
OIDCCryptoPassphrase $pass
CONF
chgrp www-data /run/ultracloud/apigateway-oidc.conf /run/ultracloud/apigateway-iam.conf
