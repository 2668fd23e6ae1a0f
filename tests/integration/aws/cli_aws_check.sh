#!/bin/sh
# `mailtrack aws check` and `mailtrack notify` driven as a user would, against fauxqs (SQS/SNS)
# and aws-ses-v2-local (SES v2), endpoints given the way the AWS CLI takes them. Run via peers.py.
set -eu
MAILTRACK=$1
export AWS_ENDPOINT_URL="$MAILTRACK_TEST_FAUXQS_URL"
export AWS_ENDPOINT_URL_SESV2="$MAILTRACK_TEST_SES_URL"
aws="aws --endpoint-url $MAILTRACK_TEST_FAUXQS_URL --region us-east-1 --output text"
Q=$($aws sqs create-queue --queue-name mt-cli-check --query QueueUrl)
QARN=$($aws sqs get-queue-attributes --queue-url "$Q" --attribute-names QueueArn --query Attributes.QueueArn)
T=$($aws sns create-topic --name mt-cli-alerts --query TopicArn)
$aws sns subscribe --topic-arn "$T" --protocol sqs --notification-endpoint "$QARN" \
  --attributes RawMessageDelivery=true >/dev/null

out=$("$MAILTRACK" aws check --set worker.queue_urls="$Q" --set sns.alerts_topic_arn="$T")
echo "$out"
echo "$out" | grep -q "^region        us-east-1  (AWS_REGION)"
echo "$out" | grep -q "^credentials   environment"
echo "$out" | grep -q "^sqs endpoint  $MAILTRACK_TEST_FAUXQS_URL  (AWS_ENDPOINT_URL)"
echo "$out" | grep -q "^ses endpoint  $MAILTRACK_TEST_SES_URL  (AWS_ENDPOINT_URL_SESV2)"
echo "$out" | grep -q "^sqs           OK"
echo "$out" | grep -q "^ses           OK"
echo "$out" | grep -q "^sns           OK"
if echo "$out" | grep -q "$AWS_SECRET_ACCESS_KEY\$"; then echo "secret printed"; exit 1; fi

# A missing queue gives a FAIL line and exit status 1.
if "$MAILTRACK" aws check --set worker.queue_urls="${Q}-missing" --set sns.alerts_topic_arn="$T" >/tmp/mt-check.$$ 2>&1; then
  echo "expected failure"; cat /tmp/mt-check.$$; exit 1
fi
grep -q "^sqs           FAIL" /tmp/mt-check.$$; rm -f /tmp/mt-check.$$

MAILTRACK_SNS_ALERTS_TOPIC_ARN="$T" "$MAILTRACK" notify --subject "login" --message "root logged in on host1"
body=$($aws sqs receive-message --queue-url "$Q" --wait-time-seconds 2 --query 'Messages[0].Body')
test "$body" = "root logged in on host1"
echo "aws check and notify OK"
