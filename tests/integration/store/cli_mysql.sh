#!/bin/sh
# The binary on the mysql backend, as an operator would set it up on RDS: the URL names no
# user and no password, both come from a Secrets Manager secret shaped like RDS's managed
# master secret (moto), and the data lands in MariaDB. Run via peers.py --mariadb --moto.
set -eu
MAILTRACK=$1
SAMPLES=$2
export AWS_ENDPOINT_URL="$MAILTRACK_TEST_MOTO_URL"
unset MAILTRACK_MYSQL_PASSWORD || true
aws="aws --endpoint-url $MAILTRACK_TEST_MOTO_URL --region us-east-1 --output text"
ARN=$($aws secretsmanager create-secret --name "rds!db-cli-$$" --query ARN \
  --secret-string "{\"username\":\"mailtrack\",\"password\":\"$MAILTRACK_TEST_MYSQL_PASSWORD\"}")
HOSTPORT=$(echo "$MAILTRACK_TEST_MYSQL_URL" | sed 's,^mysql://[^@]*@,,; s,/.*,,')
export MAILTRACK_STORE_BACKEND=mysql
export MAILTRACK_STORE_MYSQL_URL="mysql://$HOSTPORT/cli_$$?ssl-mode=DISABLED"
export MAILTRACK_STORE_MYSQL_SECRET_ARN="$ARN"
export MAILTRACK_STORE_MYSQL_CREATE_DATABASE=true

out=$("$MAILTRACK" ingest --json "$SAMPLES")
echo "$out"
echo "$out" | grep -q '"rejected": *0'
again=$("$MAILTRACK" ingest --json "$SAMPLES")
echo "$again" | grep -q '"applied": *0'
"$MAILTRACK" stats
"$MAILTRACK" list --json | grep -q '"status"'
shown=$("$MAILTRACK" config show)
echo "$shown" | grep -q "^mysql_secret_arn = \"$ARN\""
if echo "$shown" | grep -q "$MAILTRACK_TEST_MYSQL_PASSWORD"; then echo "password printed by config show"; exit 1; fi

# The wrong password from the environment wins over the secret, and fails naming the server, not the password.
if MAILTRACK_MYSQL_PASSWORD=wrong-password MAILTRACK_STORE_MYSQL_URL="mysql://mailtrack@$HOSTPORT/cli_$$?ssl-mode=DISABLED" \
  "$MAILTRACK" stats >/tmp/mt-mysql.$$ 2>&1; then
  echo "expected access denied"; cat /tmp/mt-mysql.$$; exit 1
fi
cat /tmp/mt-mysql.$$
grep -q "Access denied" /tmp/mt-mysql.$$
if grep -q "wrong-password" /tmp/mt-mysql.$$; then echo "password printed"; exit 1; fi
# A password in the URL is refused.
if MAILTRACK_STORE_MYSQL_URL="mysql://u:hunter2@$HOSTPORT/x" "$MAILTRACK" stats >/tmp/mt-mysql.$$ 2>&1; then
  echo "expected refusal"; exit 1
fi
grep -q "password in the URL is not accepted" /tmp/mt-mysql.$$
rm -f /tmp/mt-mysql.$$
echo "cli_mysql: OK"
