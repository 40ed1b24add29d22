# creditservice on node06, at every boot before the service: where its
# state (flaredb's Sentinels) and its identity provider (iam: JWKS and the
# directory) are, from the role lists the image carries; and NightLight's
# remote-write receiver on this node, where metered writes go once paid for.
set -eu
list() { # role port scheme suffix
  awk -v p="$2" -v s="$3" -v x="$4" '{ printf "%s%s%s:%s%s", (NR > 1 ? "," : ""), s, $2, p, x }' "/usr/lib/ultracloud/roles/$1.nodes"
}
cat > /run/ultracloud/creditservice.env <<ENV
CREDIT_LISTEN=127.0.0.1:8085
CREDIT_SECRET_FILE=/run/ultracloud/secret
CREDIT_REDIS_SENTINELS=$(list flaredb 26379 '' '')
CREDIT_REDIS_MASTER=flaredb
CREDIT_JWKS_URLS=$(list iam 4593 http:// /api/oidc/jwks)
CREDIT_ISSUER=http://iam.ultracloud.test:4593/api/oidc
CREDIT_LDAP_URLS=$(list iam 389 ldap:// '')
CREDIT_LDAP_BASE=dc=ultracloud,dc=test
CREDIT_NIGHTLIGHT_WRITE_URL=http://127.0.0.1:9090/api/v1/write
ENV
