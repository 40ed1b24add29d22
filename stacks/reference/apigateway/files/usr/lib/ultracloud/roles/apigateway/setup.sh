# apigateway on node06, at every boot before Apache: where IAM's JWKS is
# (the first iam node) and mod_auth_openidc's crypto passphrase (derived
# from the cluster secret; the module insists on one even for bearer-only use).
set -eu
iam=$(awk '{ print $2; exit }' /usr/lib/ultracloud/roles/iam.nodes)
[ -n "$iam" ] || { echo "apigateway setup: no iam node listed" >&2; exit 1; }
pass=$(printf 'apigateway:%s' "$(cat /run/ultracloud/secret)" | sha256sum | cut -c1-32)
umask 027
cat > /run/ultracloud/apigateway-oidc.conf <<CONF
OIDCOAuthVerifyJwksUri http://$iam:4593/api/oidc/jwks
OIDCCryptoPassphrase $pass
CONF
chgrp www-data /run/ultracloud/apigateway-oidc.conf
