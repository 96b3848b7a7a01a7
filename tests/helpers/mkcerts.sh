#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mkcerts.sh - make a throw-away test CA and one server certificate.
#
# Usage: mkcerts.sh DIR [NAME...]
#   NAMEs become subjectAltNames: dotted quads and IPv6 literals are IP
#   SANs, everything else a DNS name. Default: localhost name.test 127.0.0.1.
# Writes DIR/ca.pem, DIR/ca.key, DIR/server.pem (leaf only), DIR/server.key
# and DIR/server-chain.pem (leaf + CA). Keys are P-256 to keep it fast.
# The CA has critical basicConstraints, keyCertSign and SKI; the leaf has
# SAN, EKU serverAuth, SKI and AKI, so strict verifiers accept it.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 DIR [NAME...]" >&2
	exit 2
fi
dir=$1
shift
[ $# -gt 0 ] || set -- localhost name.test 127.0.0.1
OPENSSL=${OPENSSL:-openssl}

mkdir -p "$dir"
umask 077

san=
for n in "$@"; do
	case $n in
	*:*|[0-9]*.[0-9]*.[0-9]*.[0-9]*) entry="IP:$n" ;;
	*) entry="DNS:$n" ;;
	esac
	san="${san:+$san,}$entry"
done

cat >"$dir/ext.cnf" <<EOC
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOC

"$OPENSSL" ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
"$OPENSSL" req -new -x509 -sha256 -days 30 -key "$dir/ca.key" \
	-subj "/O=antigravity-proxy tests/CN=Test CA $$" \
	-config "$dir/ext.cnf" -extensions ca -out "$dir/ca.pem" 2>/dev/null

"$OPENSSL" ecparam -name prime256v1 -genkey -noout -out "$dir/server.key" 2>/dev/null
"$OPENSSL" req -new -sha256 -key "$dir/server.key" \
	-subj "/O=antigravity-proxy tests/CN=$1" -out "$dir/server.csr" 2>/dev/null
"$OPENSSL" x509 -req -sha256 -days 30 -in "$dir/server.csr" \
	-CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
	-extfile "$dir/ext.cnf" -extensions leaf -out "$dir/server.pem" 2>/dev/null
cat "$dir/server.pem" "$dir/ca.pem" >"$dir/server-chain.pem"
rm -f "$dir/server.csr" "$dir/ext.cnf"
chmod 644 "$dir/ca.pem" "$dir/server.pem" "$dir/server-chain.pem"
