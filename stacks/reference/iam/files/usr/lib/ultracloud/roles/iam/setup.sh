# iam on one control node, at every boot, before slapd and glewlwyd start
# (run by ultracloud-role-setup@iam.service as `sh -eu`):
#  - slapd: cn=config made afresh from this node's identity (server ID =
#    position in ROLE_NODES, syncrepl to the other members, multi-provider);
#    on a node whose database is empty, the seed entries. Every member loads
#    the same seed with the same entryUUID/entryCSN, so seeding is
#    conflict-free whatever the boot order, and nothing waits for a peer.
#  - glewlwyd: its config, its sqlite database (the image's empty one made
#    from the package's schema, its managed rows rewritten every boot), users
#    from the local slapd, and the OIDC plugin signing with the cluster key.
# Input: ULTRACLOUD_NODE, ULTRACLOUD_CLUSTER_IP, ROLE_NODES ("name address"
# lines), /run/ultracloud/secret (32 hex chars), /run/ultracloud/signing-key.der
# (PKCS#8 DER, EC P-256). Idempotent: running it again yields the same state.
set -eu
umask 077

SUFFIX='dc=ultracloud,dc=test'
ADMIN_DN="cn=admin,$SUFFIX"
SECRET_FILE=/run/ultracloud/secret
KEY_DER=/run/ultracloud/signing-key.der
WORK=/run/ultracloud/iam
SLAPD_D=/etc/ldap/slapd.d
LDAP_DB=/var/lib/ldap
GLW_DB=/var/lib/glewlwyd/glewlwyd.db
GLW_SCHEMA=/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3
GLW_PORT=4593
# One issuer name for the whole cluster: a token from any member carries
# the same `iss`, and every member publishes the same key.
ISSUER="http://iam.ultracloud.test:$GLW_PORT/api/oidc"
# Syncrepl: retry a lost provider every 5 s, forever; give a slow (TCG)
# peer 10 s to answer a connect or an operation; TCP keepalive after 20 s
# idle (3 probes, 5 s apart), so a persist session to a peer that was
# powered off and booted again is dropped and redone within ~35 s instead
# of hanging half-open.
SYNC_RETRY='5 +'
SYNC_TIMEOUT=10
SYNC_KEEPALIVE='20:3:5'
# Seed entries' fixed change stamp (older than any live change).
SEED_CSN='20250101000000.000000Z#000000#000#000000'
SEED_TIME='20250101000000Z'

die() { echo "iam setup: $*" >&2; exit 1; }

: "${ULTRACLOUD_NODE:?}" "${ULTRACLOUD_CLUSTER_IP:?}" "${ROLE_NODES:?}"
[ -s "$SECRET_FILE" ] || die "no cluster secret in $SECRET_FILE (a fw_cfg file from the harness)"
SECRET=$(cat "$SECRET_FILE")
case "$SECRET" in *[!0-9a-f]* | '') die "cluster secret is not lowercase hex" ;; esac
[ -s "$KEY_DER" ] || die "no signing key in $KEY_DER (a fw_cfg file from the harness)"

# $WORK holds the secret and the private key while this runs; errors are
# printed before it goes.
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
printf '%s' "$SECRET" > "$WORK/secret"

# ---------------------------------------------------------------- identity
sid=0 n=0 peers=''
while read -r name addr _; do
  [ -n "$name" ] || continue
  n=$((n + 1))
  if [ "$name" = "$ULTRACLOUD_NODE" ]; then sid=$n; else peers="$peers $n:$addr"; fi
done < "$ROLE_NODES"
[ "$sid" -gt 0 ] || die "$ULTRACLOUD_NODE is not listed in $ROLE_NODES"

# ------------------------------------------------------------------- slapd
# {SSHA} with a salt derived from $2, so every member stores the same value.
ssha_fixed() {
  printf '%s' "ultracloud-iam-salt:$2" | openssl dgst -sha256 -binary | head -c 8 > "$WORK/salt"
  { printf '%s' "$1"; cat "$WORK/salt"; } | openssl dgst -sha1 -binary > "$WORK/digest"
  printf '{SSHA}%s' "$(cat "$WORK/digest" "$WORK/salt" | base64 -w0)"
}

root_acl='to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break'
{
  cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcServerID: $sid
olcPidFile: /run/slapd/slapd.pid
olcArgsFile: /run/slapd/slapd.args
olcLogLevel: none
olcToolThreads: 1

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}syncprov

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

EOF
  for s in core cosine nis inetorgperson ultracloud; do cat "/etc/ldap/schema/$s.ldif"; echo; done
  cat <<EOF
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500
olcAccess: {0}$root_acl
olcAccess: {1}to dn.base="" by * read
olcAccess: {2}to dn.base="cn=subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $LDAP_DB
olcSuffix: $SUFFIX
olcRootDN: $ADMIN_DN
olcRootPW: $(slappasswd -h '{SSHA}' -T "$WORK/secret")
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcDbIndex: cn,uid,mail eq,sub
olcDbIndex: member,memberUid eq
olcDbIndex: entryCSN,entryUUID eq
olcAccess: {0}$root_acl
olcAccess: {1}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {2}to * by users read by * none
EOF
  i=0
  for p in $peers; do
    echo "olcSyncrepl: {$i}rid=00${p%%:*} provider=ldap://${p#*:}:389/ bindmethod=simple binddn=\"$ADMIN_DN\" credentials=$SECRET searchbase=\"$SUFFIX\" scope=sub schemachecking=on type=refreshAndPersist retry=\"$SYNC_RETRY\" timeout=$SYNC_TIMEOUT network-timeout=$SYNC_TIMEOUT keepalive=$SYNC_KEEPALIVE"
    i=$((i + 1))
  done
  cat <<EOF
olcMultiProvider: TRUE

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 100 10
olcSpSessionLog: 1000
EOF
} > "$WORK/config.ldif"

rm -rf "$SLAPD_D.new" "$SLAPD_D.old"
mkdir -p "$SLAPD_D.new"
slapadd -n0 -F "$SLAPD_D.new" -l "$WORK/config.ldif" > "$WORK/slapadd-config.log" 2>&1 \
  || { cat "$WORK/slapadd-config.log" >&2; die "slapadd of cn=config failed"; }
chown -R openldap:openldap "$SLAPD_D.new"
chmod 0750 "$SLAPD_D.new"
if [ -d "$SLAPD_D" ]; then mv "$SLAPD_D" "$SLAPD_D.old"; fi
mv "$SLAPD_D.new" "$SLAPD_D"
rm -rf "$SLAPD_D.old"

install -d -m 0750 -o openldap -g openldap "$LDAP_DB"
install -d -m 0755 -o openldap -g openldap /run/slapd

# Seed an empty database (first boot of this disk). Same bytes on every
# member: fixed entryUUIDs and entryCSN, salts derived from the uid.
if [ -z "$(slapcat -F "$SLAPD_D" -n1 -a '(objectClass=*)' 2> /dev/null | head -c 1)" ]; then
  entry() { # dn uuid-suffix, then attribute lines on stdin
    printf 'dn: %s\n' "$1"
    cat
    printf 'entryUUID: 5eed0000-0000-4000-8000-%012d\n' "$2"
    printf 'entryCSN: %s\ncreateTimestamp: %s\nmodifyTimestamp: %s\n' "$SEED_CSN" "$SEED_TIME" "$SEED_TIME"
    printf 'creatorsName: %s\nmodifiersName: %s\n\n' "$ADMIN_DN" "$ADMIN_DN"
  }
  {
    printf 'objectClass: dcObject\nobjectClass: organization\ndc: ultracloud\no: UltraCloud\n' | entry "$SUFFIX" 1
    printf 'objectClass: organizationalUnit\nou: people\n' | entry "ou=people,$SUFFIX" 2
    printf 'objectClass: organizationalUnit\nou: groups\n' | entry "ou=groups,$SUFFIX" 3
    printf 'objectClass: organizationalUnit\nou: services\n' | entry "ou=services,$SUFFIX" 4
  } > "$WORK/seed.ldif"
  person() { # uid branch uuid cn sn scopes...
    uid=$1 branch=$2 uuid=$3 cn=$4 sn=$5
    shift 5
    {
      printf 'objectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@ultracloud.test\n' "$uid" "$cn" "$sn" "$uid"
      # The credit account and quota creditservice reads (schema ultracloud.ldif).
      if [ -n "$account" ]; then
        printf 'objectClass: ultracloudAccountHolder\nultracloudAccount: %s\nultracloudQuota: %s\n' "$account" "$quota"
      fi
      for scope in "$@"; do printf 'employeeType: %s\n' "$scope"; done
      printf 'userPassword: %s\n' "$(ssha_fixed "$uid-$SECRET" "$uid")"
    } | entry "uid=$uid,$branch" "$uuid"
  }
  {
    account=acct-alice quota=100
    person alice "ou=people,$SUFFIX" 11 'Alice Operator' Operator openid ultracloud ultracloud-admin
    account=acct-bob quota=50
    person bob "ou=people,$SUFFIX" 12 'Bob Tenant' Tenant openid ultracloud
    account='' quota=''
    person svc-platform "ou=services,$SUFFIX" 21 'Platform service account' Service openid ultracloud
    printf 'objectClass: groupOfNames\ncn: operators\nmember: uid=alice,ou=people,%s\n' "$SUFFIX" | entry "cn=operators,ou=groups,$SUFFIX" 31
    printf 'objectClass: groupOfNames\ncn: tenants\nmember: uid=alice,ou=people,%s\nmember: uid=bob,ou=people,%s\n' "$SUFFIX" "$SUFFIX" | entry "cn=tenants,ou=groups,$SUFFIX" 32
  } >> "$WORK/seed.ldif"
  slapadd -F "$SLAPD_D" -n1 -w -l "$WORK/seed.ldif" > "$WORK/slapadd-seed.log" 2>&1 \
    || { cat "$WORK/slapadd-seed.log" >&2; die "slapadd of the seed entries failed"; }
  echo "iam setup: seeded $SUFFIX on $ULTRACLOUD_NODE"
fi
chown -R openldap:openldap "$LDAP_DB"

# ---------------------------------------------------------------- glewlwyd
# Signing key: PKCS#8 DER -> PEM private key and SubjectPublicKeyInfo PEM.
openssl pkey -inform DER -in "$KEY_DER" -out "$WORK/key.pem" 2> "$WORK/openssl.log" \
  || { cat "$WORK/openssl.log" >&2; die "$KEY_DER is not a PKCS#8 DER private key"; }
openssl pkey -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem"
openssl pkey -in "$WORK/key.pem" -noout -text 2> /dev/null | grep -q 'NIST CURVE: P-256' \
  || die "$KEY_DER is not an EC P-256 key (ES256)"
pem_json() { awk '{ printf "%s\\n", $0 }' "$1"; }

# glewlwyd's own password format (sqlite backends): base64(PBKDF2-HMAC-SHA256
# (password, salt, 1000 rounds, 32 bytes) || salt), salt 16 ASCII characters.
glw_hash() {
  salt=$(openssl rand -hex 8)
  openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt "pass:$1" -kdfopt "salt:$salt" -kdfopt iter:1000 -binary PBKDF2 > "$WORK/dk"
  printf '%s' "$salt" >> "$WORK/dk"
  base64 -w0 "$WORK/dk"
}

ldap_users() { # branch
  cat <<EOF
{"uri":"ldap://127.0.0.1:389/","bind-dn":"$ADMIN_DN","bind-password":"$SECRET","search-scope":"one","page-size":50,"base-search":"$1","filter":"objectClass=inetOrgPerson","username-property":"uid","name-property":"cn","email-property":"mail","scope-property":"employeeType","data-format":{}}
EOF
}

cat > "$WORK/oidc.json" <<EOF
{"iss":"$ISSUER","jwt-type":"ecdsa","jwt-key-size":"256","key":"$(pem_json "$WORK/key.pem")","cert":"$(pem_json "$WORK/pub.pem")",
"access-token-duration":3600,"refresh-token-duration":1209600,"code-duration":600,"refresh-token-rolling":true,
"allow-non-oidc":true,"auth-type-code-enabled":true,"auth-type-token-enabled":true,"auth-type-id-token-enabled":true,"auth-type-none-enabled":false,
"auth-type-password-enabled":true,"auth-type-client-enabled":true,"auth-type-refresh-enabled":true,"auth-type-device-enabled":false,
"jwks-show":true,"subject-type":"public","name-claim":"on-demand","email-claim":"on-demand",
"allowed-scope":["openid","ultracloud","ultracloud-admin"],"scope":[],"claims":[],
"additional-parameters":[{"user-parameter":"username","token-parameter":"preferred_username"},{"user-parameter":"email","token-parameter":"email"}]}
EOF
tr -d '\n' < "$WORK/oidc.json" > "$WORK/oidc.min.json"

cat > "$WORK/glewlwyd.conf" <<EOF
# Made at boot by /usr/lib/ultracloud/roles/iam/setup.sh; edits are lost.
port=$GLW_PORT
external_url="http://$ULTRACLOUD_CLUSTER_IP:$GLW_PORT"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="console"
log_level="WARNING"
cookie_secure=0
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database =
{
  type = "sqlite3"
  path = "$GLW_DB"
};
EOF
install -m 0644 "$WORK/glewlwyd.conf" /etc/glewlwyd/glewlwyd.conf

install -d -m 0750 -o glewlwyd -g root "$(dirname "$GLW_DB")"
# The image ships the empty database (customize.sh); made here only if it
# is missing.
if [ ! -s "$GLW_DB" ]; then
  rm -f "$GLW_DB.new"
  # One transaction: one fsync instead of one per table.
  { echo 'BEGIN;'; cat "$GLW_SCHEMA"; echo 'COMMIT;'; } | sqlite3 -bail "$GLW_DB.new"
  mv "$GLW_DB.new" "$GLW_DB"
fi
# Rows this script owns; everything else (tokens, sessions) is kept.
cat > "$WORK/glewlwyd.sql" <<EOF
BEGIN;
UPDATE g_user_password SET guw_password='$(glw_hash "$SECRET")'
  WHERE gu_id=(SELECT gu_id FROM g_user WHERE gu_username='admin');
INSERT OR IGNORE INTO g_scope (gs_name, gs_display_name, gs_description, gs_password_required, gs_password_max_age)
  VALUES ('ultracloud', 'UltraCloud', 'Access to UltraCloud APIs', 0, 0),
         ('ultracloud-admin', 'UltraCloud administration', 'Administration of UltraCloud', 0, 0);
DELETE FROM g_user_module_instance WHERE gumi_name IN ('people', 'services');
INSERT INTO g_user_module_instance (gumi_module, gumi_order, gumi_name, gumi_display_name, gumi_parameters, gumi_readonly)
  VALUES ('ldap', 1, 'people', 'Directory: people', '$(ldap_users "ou=people,$SUFFIX")', 1),
         ('ldap', 2, 'services', 'Directory: service accounts', '$(ldap_users "ou=services,$SUFFIX")', 1);
DELETE FROM g_plugin_module_instance WHERE gpmi_name='oidc';
INSERT INTO g_plugin_module_instance (gpmi_module, gpmi_name, gpmi_display_name, gpmi_parameters)
  VALUES ('oidc', 'oidc', 'UltraCloud OpenID Connect', '$(cat "$WORK/oidc.min.json")');
DELETE FROM g_client_scope_client WHERE gc_id IN (SELECT gc_id FROM g_client WHERE gc_client_id='ultracloud');
DELETE FROM g_client_property WHERE gc_id IN (SELECT gc_id FROM g_client WHERE gc_client_id='ultracloud');
DELETE FROM g_client WHERE gc_client_id='ultracloud';
INSERT INTO g_client (gc_client_id, gc_name, gc_description, gc_confidential, gc_password, gc_enabled)
  VALUES ('ultracloud', 'UltraCloud', 'Tests and services: password and client_credentials grants', 1, '$(glw_hash "$SECRET")', 1);
INSERT INTO g_client_property (gc_id, gcp_name, gcp_value)
  SELECT gc_id, p.name, p.value FROM g_client, (
    SELECT 'authorization_type' AS name, 'password' AS value
    UNION ALL SELECT 'authorization_type', 'client_credentials'
    UNION ALL SELECT 'authorization_type', 'refresh_token'
    UNION ALL SELECT 'token_endpoint_auth_method', 'client_secret_basic'
    UNION ALL SELECT 'token_endpoint_auth_method', 'client_secret_post') AS p
  WHERE gc_client_id='ultracloud';
INSERT OR IGNORE INTO g_client_scope (gcs_name) VALUES ('openid'), ('ultracloud');
INSERT INTO g_client_scope_client (gc_id, gcs_id)
  SELECT c.gc_id, s.gcs_id FROM g_client c, g_client_scope s
  WHERE c.gc_client_id='ultracloud' AND s.gcs_name IN ('openid', 'ultracloud');
COMMIT;
EOF
sqlite3 -bail "$GLW_DB" < "$WORK/glewlwyd.sql"
chown glewlwyd:root "$GLW_DB"
chmod 0600 "$GLW_DB"

echo "iam setup: $ULTRACLOUD_NODE is server $sid of $n, peers:${peers:- none}"
